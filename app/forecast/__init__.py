"""Forecasts of customer and party orders: learned durations, party reliability and a Monte Carlo over the open work."""
