"""ordertrack: tracks customer orders and party orders until each meets its committed date."""
