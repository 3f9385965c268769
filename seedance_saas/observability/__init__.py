"""Logs, request ids, worker context and error reporting: what an operator reads at 3 a.m."""
