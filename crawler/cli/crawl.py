"""``darkwatch crawl``: the job cron runs."""

from __future__ import annotations

import argparse
import json
import sys

from crawler.cli._common import EXIT_OK, EXIT_PARTIAL, add_config_arg, load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crawl", help="crawl the configured forums and store new posts",
        description="Crawl forums through Tor (default) and store new posts. Exit codes: "
                    "0 ok, 1 partial (a forum failed), 2 config/rules error, 3 Tor unavailable.",
    )
    add_config_arg(p)
    p.add_argument("--forum", "-f", action="append", metavar="NAME",
                   help="only this forum (repeatable); default: every enabled forum")
    p.add_argument("--direct", action="store_true",
                   help="connect without Tor; only for loopback test servers (refused otherwise)")
    p.add_argument("--report", metavar="FILE", help="write a JSON run report to FILE")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log output (-v info, -vv debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, summary only")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.crawl import CrawlRefused, run_crawl

    cfg = load_or_exit(args.config)
    level = ["WARNING", "INFO", "DEBUG"][min(args.verbose, 2)]

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    try:
        result = run_crawl(cfg, args.forum, direct=args.direct, progress=progress,
                           log_level=level, show_progress=not args.quiet)
    except CrawlRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for forum in result.forums:
        print(forum.line())
        for sample in forum.error_samples[:5]:
            print(f"  {sample['kind']}: {sample['message']}")
    print(result.summary())
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh, indent=2)
    return EXIT_PARTIAL if result.failed else EXIT_OK
