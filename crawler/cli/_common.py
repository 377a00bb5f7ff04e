"""Helpers shared by subcommands: config loading with readable errors, exit codes."""

from __future__ import annotations

import argparse
import sys

from crawler.config import Config, ConfigError, load_config
from crawler.exitcodes import ExitCode

# Short names for the CLI modules; the numbers live in crawler/exitcodes.py.
EXIT_OK = ExitCode.OK
EXIT_PARTIAL = ExitCode.PARTIAL
EXIT_CONFIG = ExitCode.CONFIG
EXIT_TOR = ExitCode.TOR
EXIT_STORE = ExitCode.STORE
EXIT_STORE_WRITE = ExitCode.STORE_WRITE


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default="darkwatch.yml", metavar="FILE",
                   help="configuration file (default: ./darkwatch.yml)")


def load_or_exit(path: str) -> Config:
    """Load the config or print every problem as file:line:col and exit 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def check_input_path(path: str, allow_dir: bool = False) -> str | None:
    """``"error: PATH: why"`` when ``path`` cannot be read as input (a FIFO, a socket, a device
    or a missing file, each said as what it is), else None. Call it before doing any work."""
    from crawler.paths import input_problem

    why = input_problem(path, allow_dir=allow_dir)
    return f"error: {path}: {why}" if why else None


def check_output_paths(created: tuple[str, ...] = (), **paths: str | None) -> str | None:
    """``"error: --option PATH: why"`` for the first output file that cannot be written, else None.

    Keyword names are the options (``report="r.json"`` -> ``--report``); None values are skipped.
    Options named in ``created`` are written atomically by a writer that creates missing folders
    (``--metrics-file``). Checked before any work, so a typo in an output path never costs a crawl.
    """
    from crawler.paths import output_problem

    for option, path in paths.items():
        if path is None:
            continue
        why = output_problem(path, create_dirs=option in created, atomic=option in created)
        if why:
            return f"error: --{option.replace('_', '-')} {path}: {why}"
    return None
