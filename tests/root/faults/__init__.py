"""Root tests of nslab.faults against the real kernel."""
