"""Operability: request ids and JSON logs, Prometheus metrics, and the GraphQL extension feeding them."""
