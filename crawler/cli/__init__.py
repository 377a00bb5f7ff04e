"""The ``darkwatch`` command.

Each module in this package that defines ``register(subparsers)`` adds its own
subcommands, so each layer (crawl, rules, tor, es, ...) owns its CLI beside its code.
Other installed distributions add commands through the ``darkwatch.commands`` entry point
group (the lab's ``lab`` and ``demo``: lab/pyproject.toml).
A registered handler takes the parsed args and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crawler import __version__
from crawler.exitcodes import ExitCode

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, just the command module of that name (the command
    about to run: importing every command's dependencies would cost ~0.5 s per cron run)."""
    parser = argparse.ArgumentParser(
        prog="darkwatch",
        description="Dark-web forum monitoring: crawl over Tor, match rules, alert.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"darkwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    if only in names:
        names, plugins = [only], {}
    else:  # commands of other distributions (the lab's `lab` and `demo`), by entry point
        plugins = {n: ep for n, ep in _plugin_commands().items() if n not in names}
        if only in plugins:
            names, plugins = [], {only: plugins[only]}
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    for name, ep in sorted(plugins.items()):
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plugin must not take the product's commands down
            print(f"warning: command {name!r} ({ep.value}) could not load: {exc}", file=sys.stderr)
    return parser


PLUGIN_GROUP = "darkwatch.commands"  # entry points: name = command, value = its register(sub)
LAB_COMMANDS = ("lab", "demo")  # the lab distribution's commands (lab/pyproject.toml)


def _plugin_commands() -> dict[str, EntryPoint]:
    """Commands registered by other installed distributions, by command name (importlib.metadata
    is imported here: a product command, run by cron every few minutes, never needs it)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def _parse(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse with the named command's module alone when that module defines it; the full parser
    otherwise (help, a typo: argparse then lists every command)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = args_list[0] if args_list and not args_list[0].startswith("-") else None
    if first and first.isidentifier():
        parser = build_parser(only=first)
        if first in (getattr(parser._subparsers, "_group_actions", [None])[0].choices or {}):
            return parser, parser.parse_args(args_list)
        if first in LAB_COMMANDS:  # not installed: say how to get it rather than "invalid choice"
            parser.error(f"'{first}' comes with the darkwatch lab, which is not installed: "
                         "pip install -e ./lab (from the checkout; scripts/setup.sh does it)")
    parser = build_parser()
    return parser, parser.parse_args(args_list)


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = _parse(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from crawler.privacy import install_redaction, redact

    install_redaction()  # every log line and uncaught traceback of every command: no credentials
    try:
        code = int(handler(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return closed_pipe()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # the store errors' module is loaded only here: a scan or a rules command needs none
        from crawler.sinks.base import ElasticsearchError, StoreError

        if isinstance(exc, StoreError):  # damaged or unusable SQLite store: one line
            print(f"error: {redact(str(exc))}", file=sys.stderr)
            return 2
        if isinstance(exc, ElasticsearchError):  # misconfigured or refusing Elasticsearch
            print(f"error: {redact(str(exc))}", file=sys.stderr)
            return int(ExitCode.STORE)
        raise


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
