"""Root tests of nslab.cli against the real kernel."""
