"""Unit tests of nslab.grading."""
