"""Live events: the bus between processes and the GraphQL subscriptions."""
