"""Faults: named transformations that turn a healthy scenario into a broken one."""
