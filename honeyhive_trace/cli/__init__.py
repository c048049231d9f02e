"""The ``honeyhive-trace`` command: run the local collector, list events, run a demo.

Usage::

    honeyhive-trace serve [--host H] [--port P] [--db PATH] [--api-key KEY]
    honeyhive-trace events [--db PATH | --url URL] [--limit N] [--json] [filters]
    honeyhive-trace demo [--keep] [--db PATH]

Also runnable as ``python -m honeyhive_trace``. Each command lives in its own module
(:mod:`.serve`, :mod:`.events`, :mod:`.demo`) with ``add_arguments(parser)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from honeyhive_trace import __version__
from honeyhive_trace.cli import demo, events, serve
from honeyhive_trace.cli.events import print_table

__all__ = ["build_parser", "main", "print_table"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``honeyhive-trace`` command.

    Returns:
        The parser; each sub-command sets ``func`` to its handler.
    """
    parser = argparse.ArgumentParser(
        prog="honeyhive-trace",
        description="Local tools for honeyhive-trace: a HoneyHive-compatible collector "
        "with a web viewer, an events listing and a demo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in (("serve", serve), ("events", events), ("demo", demo)):
        sub = commands.add_parser(name, help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``honeyhive-trace`` command.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 on success, 1 on failure, 2 for bad arguments, 130 when
        interrupted.
    """
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `honeyhive-trace events | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0
