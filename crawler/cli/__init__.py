"""The ``darkwatch`` command.

Each module in this package that defines ``register(subparsers)`` adds its own
subcommands, so each layer (crawl, rules, tor, es, ...) owns its CLI beside its code.
A registered handler takes the parsed args and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from crawler import __version__
from crawler.exitcodes import ExitCode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darkwatch",
        description="Dark-web forum monitoring: crawl over Tor, match rules, alert.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"darkwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from crawler.logjson import install_redaction, redact

    install_redaction()  # every log line and uncaught traceback of every command: no credentials
    from crawler.sinks.base import StoreError

    try:
        code = int(handler(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return closed_pipe()
    except StoreError as exc:  # damaged or unusable SQLite store: one line, no traceback
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


EXIT_PIPE = ExitCode.PIPE  # what a shell reports for a writer whose reader went away


def closed_pipe() -> int:
    """``darkwatch ... | head -1``: stop quietly, as a command killed by SIGPIPE would.

    Python's recipe: point stdout at /dev/null so the flush at interpreter exit cannot raise
    (and print) a second BrokenPipeError.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout already closed or replaced: nothing left to flush
        pass
    return EXIT_PIPE
