"""The command line: thin click commands, one module per verb, imported only when used. The
only place that prints or exits. May import every package; nothing imports it back."""
