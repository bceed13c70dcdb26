"""Access: the life of API tokens (issue, list, revoke, expire) and re-checking open sessions."""
