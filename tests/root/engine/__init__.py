"""Root tests of nslab.engine against the real kernel."""
