"""Root tests of nslab.grading against the real kernel."""
