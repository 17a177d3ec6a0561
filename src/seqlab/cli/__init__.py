"""The ``seqlab`` command line: one small module per command, listed in ``main.COMMANDS``."""
