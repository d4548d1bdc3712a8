"""The command line: thin click commands, one module per verb, imported only when used."""
