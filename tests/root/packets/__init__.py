"""Root tests of nslab.packets: real captures in real labs."""
