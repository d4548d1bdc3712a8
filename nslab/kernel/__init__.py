"""Everything that touches the kernel. Nothing here ever changes the root network namespace."""
