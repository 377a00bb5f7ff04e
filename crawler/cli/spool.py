"""``darkwatch spool status|replay``: what Elasticsearch has not acknowledged yet, and resend it."""

from __future__ import annotations

import argparse
import json
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_STORE, add_config_arg, load_or_exit
from crawler.privacy import redact


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spool", help="Elasticsearch write-ahead spool: status, replay")
    ssub = p.add_subparsers(dest="spool_command", metavar="ACTION", required=True)
    st = ssub.add_parser("status", help="documents waiting for Elasticsearch, and dead letters")
    add_config_arg(st)
    st.add_argument("--format", choices=("text", "json"), default="text")
    st.set_defaults(handler=status)
    rp = ssub.add_parser("replay", help="send the spooled documents now, in order")
    add_config_arg(rp)
    rp.set_defaults(handler=replay)


def _es(args: argparse.Namespace):
    cfg = load_or_exit(args.config)
    if cfg.store.elasticsearch is None:
        print(f"error: {args.config}: no store.elasticsearch section: there is no spool", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return cfg.store.elasticsearch


def status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from crawler.sinks.spool import Spool

    st = Spool(_es(args).spool_dir).status()
    if args.format == "json":
        print(json.dumps(asdict(st)))
    else:
        print(f"spool {st.directory}: {st.pending} document(s) waiting in {st.segments} segment(s) "
              f"({st.bytes} bytes){', oldest ' + st.oldest if st.oldest else ''}; "
              f"{st.dead_letters} dead letter(s)")
    return EXIT_OK


def replay(args: argparse.Namespace) -> int:
    from crawler.sinks.elasticsearch import ElasticsearchSink
    from crawler.sinks.es_client import ElasticsearchError

    sink = ElasticsearchSink(_es(args))
    sink.announce = False  # the outcome is printed below, once
    try:
        res = sink.flush()
    except ElasticsearchError as exc:
        print(redact(f"error: {exc}"), file=sys.stderr)
        return EXIT_STORE
    finally:
        sink.spool.close()
    print(f"sent {res.sent}, dead-lettered {res.dead}, still spooled {sink.pending()}")
    if res.error or res.kept:
        print(redact(f"error: {res.error or 'Elasticsearch refused some documents for now (429/5xx)'}"),
              file=sys.stderr)
        return EXIT_STORE
    return EXIT_OK
