"""Grading: judge probe observations against a scenario's checks (pure), and render reports."""
