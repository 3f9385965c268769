"""Generations and their events (built in the lifecycle issue)."""
