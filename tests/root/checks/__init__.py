"""Root tests of nslab.checks against the real kernel."""
