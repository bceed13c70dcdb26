"""Benchmarks of ordertrack on PostgreSQL: each module runs alone (`python -m bench.tree`) and prints a table."""
