"""Helpers shared by subcommands: config loading with readable errors, exit codes."""

from __future__ import annotations

import argparse
import sys

from crawler.config import Config, ConfigError, load_config

EXIT_OK = 0
EXIT_PARTIAL = 1  # some forum failed (or, for `rules test`, a test failed)
EXIT_CONFIG = 2  # bad config / bad rules / bad usage
EXIT_TOR = 3  # Tor unavailable
EXIT_STORE = 4  # store unavailable (documents spooled)


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
