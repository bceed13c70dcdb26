"""Track & Manage Party Orders (eTOM 1.6.8.3): orders placed with suppliers and partners."""
