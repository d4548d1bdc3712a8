"""Faults: named transformations that turn a healthy scenario into a broken one, each with its
own validation. May import nslab.services (faults break services' settings) and everything
below it; never checks, labs, grading or the CLI."""
