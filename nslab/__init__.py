"""nslab: break-fix networking labs on Linux network namespaces."""

__version__ = "0.1.0"
