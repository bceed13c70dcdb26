"""Track & Manage Customer Order Handling (eTOM 1.3.3.3)."""
