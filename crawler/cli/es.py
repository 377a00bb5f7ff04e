"""``darkwatch es setup``: install the ILM policy and index templates (idempotent)."""

from __future__ import annotations

import argparse
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_STORE, add_config_arg, load_or_exit
from crawler.privacy import redact


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("es", help="Elasticsearch: install index templates and the ILM policy")
    esub = p.add_subparsers(dest="es_command", metavar="ACTION", required=True)
    s = esub.add_parser("setup", help="install/refresh templates and ILM policy (safe to repeat)")
    add_config_arg(s)
    s.set_defaults(handler=setup)


def setup(args: argparse.Namespace) -> int:
    from crawler.sinks.es_client import describe, make_client
    from crawler.sinks.es_setup import install

    cfg = load_or_exit(args.config)
    es = cfg.store.elasticsearch
    if es is None:
        print(f"error: {args.config}: no store.elasticsearch section; add one "
              "(store: {elasticsearch: {url: ..., api_key: ${ES_API_KEY}}})", file=sys.stderr)
        return EXIT_CONFIG
    client = None
    try:
        client = make_client(es)
        report = install(client, es)
    except Exception as exc:
        print(redact(f"error: {describe(exc, es)}"), file=sys.stderr)
        return EXIT_STORE
    finally:
        if client is not None:
            client.close()
    for line in report.installed:
        print(f"installed {line}")
    for line in report.unchanged:
        print(f"unchanged {line}")
    for note in report.notes:
        print(redact(f"note: {note}"), file=sys.stderr)
    print("nothing to do: already up to date" if not report.changed else
          f"{len(report.installed)} object(s) installed", file=sys.stderr)
    return EXIT_OK
