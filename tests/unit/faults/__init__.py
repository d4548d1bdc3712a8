"""Unit tests of nslab.faults."""
