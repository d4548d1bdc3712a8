"""Grading: run the probes, judge observations against the checks (a pure function), render
text/JSON/JUnit reports, selftest, hints and solutions. Imports the labs layer and below;
never the CLI."""
