"""The party order API: types, inputs, queries and mutations."""
