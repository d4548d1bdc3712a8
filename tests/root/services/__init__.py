"""Root tests of nslab.services against the real kernel."""
