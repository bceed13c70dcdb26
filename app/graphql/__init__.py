"""The GraphQL layer: schema assembly, per-request context, permissions and error handling."""
