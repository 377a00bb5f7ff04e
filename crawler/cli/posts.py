"""``darkwatch posts export``: stored posts as JSON lines or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from crawler.cli._common import EXIT_CONFIG, add_config_arg, check_output_paths, load_or_exit
from crawler.model import POST_FIELDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("posts", help="work with stored posts")
    psub = p.add_subparsers(dest="posts_command", metavar="ACTION", required=True)
    e = psub.add_parser("export", help="export stored posts (jsonl: one post per line)")
    add_config_arg(e)
    e.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    e.add_argument("--forum", "-f", help="only this forum")
    e.add_argument("--since", metavar="ISO", help="only posts published (or crawled) since")
    e.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    e.set_defaults(handler=export)


def export(args: argparse.Namespace) -> int:
    from crawler.sinks import open_state

    since = args.since
    if since:
        from crawler.config.duration import parse_iso_utc

        try:
            since = parse_iso_utc(since)
        except ValueError as exc:  # not ISO 8601, or out of range once in UTC
            print(f"error: --since: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    refused = check_output_paths(output=args.output)  # before the store is read
    if refused:
        print(refused, file=sys.stderr)
        return EXIT_CONFIG
    cfg = load_or_exit(args.config)
    store = open_state(cfg)
    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:  # changed since the check (a race), or a read-only file system
        store.close()
        print(f"error: --output {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.format == "jsonl":
            for post in store.iter_posts(args.forum, since):
                out.write(json.dumps(post.to_dict(), ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(out, fieldnames=list(POST_FIELDS), extrasaction="ignore")
            writer.writeheader()
            for post in store.iter_posts(args.forum, since):
                writer.writerow(post.to_dict())
    finally:
        if out is not sys.stdout:
            out.close()
        store.close()
    return 0
