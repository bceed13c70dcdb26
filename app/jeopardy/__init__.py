"""Jeopardy monitor: levels by set-based rules, escalation by local policy, one leader at a time."""
