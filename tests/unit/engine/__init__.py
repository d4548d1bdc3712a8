"""Unit tests of nslab.engine."""
