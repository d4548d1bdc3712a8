"""Unit tests of nslab.checks."""
