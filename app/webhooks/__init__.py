"""Webhooks: events pushed to partners' and enterprise systems' endpoints, signed, durable, in order."""
