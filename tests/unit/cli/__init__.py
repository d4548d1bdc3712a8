"""Unit tests of nslab.cli."""
