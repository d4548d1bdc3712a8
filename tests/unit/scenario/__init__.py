"""Unit tests of nslab.scenario."""
