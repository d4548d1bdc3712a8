"""Unit tests of nslab.services."""
