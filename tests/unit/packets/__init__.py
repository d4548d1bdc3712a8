"""Unit tests of nslab.packets."""
