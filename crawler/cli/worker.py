"""``darkwatch worker``: crawl from the shared Redis queue (see crawler.distributed)."""

from __future__ import annotations

import argparse
import sys

from crawler.cli._common import add_config_arg, load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker", help="crawl requests from a shared Redis queue (scale-out)",
        description="Run until stopped (SIGTERM/SIGINT), crawling the rounds that "
                    "`darkwatch crawl --distributed` starts. Each worker uses its own Tor "
                    "client (tor: section); forums' delays are kept across all workers.",
    )
    p.add_argument("redis_url", metavar="REDIS_URL", help="e.g. redis://127.0.0.1:6379/0")
    add_config_arg(p)
    p.add_argument("--forum", "-f", action="append", metavar="NAME",
                   help="only this forum (repeatable); default: every enabled forum")
    p.add_argument("--direct", action="store_true",
                   help="connect without Tor; only for loopback test servers (refused otherwise)")
    p.add_argument("--id", dest="worker_id", help="worker id in Redis (default: host-pid)")
    p.add_argument("--exit-when-idle", type=float, metavar="SECONDS",
                   help="exit after this long without a running round (batch jobs, tests)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.crawl import CrawlRefused
    from crawler.distributed.worker import run_worker

    cfg = load_or_exit(args.config)
    level = ["WARNING", "INFO", "DEBUG"][min(args.verbose, 2)]
    try:
        return run_worker(cfg, args.redis_url, args.forum, direct=args.direct,
                          worker_id=args.worker_id, exit_when_idle=args.exit_when_idle,
                          log_level=level,
                          progress=lambda m: print(m, file=sys.stderr, flush=True))
    except CrawlRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
