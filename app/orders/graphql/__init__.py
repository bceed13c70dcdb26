"""GraphQL types, inputs, queries and mutations for customer orders (thin: they call the domain)."""
