"""``ecgdash``: the one command-line entry point (the shell's top floor; nothing imports it).

Each subcommand module registers its parser and is a thin layer over a library function that
tests call directly. Settings are read here, once, and handed down as explicit arguments.
"""

from ecgdash.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
