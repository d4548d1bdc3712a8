"""Services: real servers that run inside lab namespaces as supervised processes."""
