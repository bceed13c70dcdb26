"""Track & Manage Party Orders (eTOM 1.6.8.3): orders placed with suppliers and partners."""

from app.party_orders import work as _work  # noqa: F401  registers party orders as customer order work
