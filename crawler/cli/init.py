"""``darkwatch init``: first-run set-up of the fingerprint key.

A first-time user with a minimal config was refused until they invented a key. The refusal stays
(a random per-run key would make fingerprints useless across runs), but the key is made here:
256 random bits, in the state directory, owner-only, used from then on by every command that
reads the same config.
"""

from __future__ import annotations

import argparse
import os
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, add_config_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init", help="create the fingerprint key (first run)",
        description="Creates a strong fingerprint key (HMAC key of identifier fingerprints) in "
        "the state directory (beside store.sqlite, or rules.fingerprint_key_file), mode 0600. "
        "Never overwrites an existing key. Without a config file, uses the defaults relative to "
        "the current directory.")
    add_config_arg(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.config.rules import KEY_FILE_NAME
    from crawler.rules.fingerprint import ENV, create_key_file

    if os.path.exists(args.config):
        from crawler.cli._common import load_or_exit

        rules = load_or_exit(args.config).rules
        configured, path = rules.fingerprint_key, rules.fingerprint_key_file
    else:
        print(f"note: no config at {args.config}: using the defaults (store ./darkwatch.db)",
              file=sys.stderr)
        configured, path = None, os.path.abspath(KEY_FILE_NAME)
    if configured:
        print("the config sets rules.fingerprint_key: nothing to create")
        return EXIT_OK
    if os.environ.get(ENV):
        print(f"${ENV} is set and takes precedence over a key file: nothing to create")
        return EXIT_OK
    if not path:
        print("error: the store is in memory (store.sqlite: ':memory:'): set "
              "rules.fingerprint_key_file to where the key should live", file=sys.stderr)
        return EXIT_CONFIG
    try:
        created = create_key_file(path)
    except OSError as exc:
        print(f"error: cannot write the fingerprint key to {path}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_CONFIG
    if not created:
        print(f"fingerprint key already exists: {path} (kept; darkwatch never overwrites it)")
        return EXIT_OK
    print(f"fingerprint key created: {path} (mode 0600)\n"
          "  It keys every identifier fingerprint (\"has this NIR been seen?\") in alerts, "
          "incidents and exposure checks.\n"
          "  Back it up with the store and keep it secret: with a new key, old fingerprints match "
          "nothing; with a leaked key, fingerprints can be reversed by brute force.\n"
          f"  Workers on other machines need the same key (rules.fingerprint_key or ${ENV}).")
    return EXIT_OK
