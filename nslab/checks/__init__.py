"""Checks: declared expectations, live probes that test them, and the grader."""
