"""``darkwatch crawl``: the job cron runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from crawler.cli._common import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STORE,
    EXIT_STORE_WRITE,
    add_config_arg,
    check_output_paths,
    load_or_exit,
)

if TYPE_CHECKING:
    from crawler.config import Config
    from crawler.crawl import CrawlResult


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crawl", help="crawl the configured forums and store new posts",
        description="Crawl forums through Tor (default) and store new posts. Exit codes: "
                    "0 ok, 1 partial (a forum failed), 2 config/rules error, 3 Tor unavailable, "
                    "4 store unavailable (documents kept in the spool), 5 Redis unavailable "
                    "(--distributed), 6 store write failed (disk full, I/O error: posts kept in "
                    "a recovery journal, stored by the next crawl).",
    )
    add_config_arg(p)
    p.add_argument("--forum", "-f", action="append", metavar="NAME",
                   help="only this forum (repeatable); default: every enabled forum")
    p.add_argument("--direct", action="store_true",
                   help="connect without Tor; only for loopback test servers (refused otherwise)")
    p.add_argument("--distributed", metavar="REDIS_URL",
                   help="run this round on `darkwatch worker` processes sharing a Redis queue "
                        "(e.g. redis://127.0.0.1:6379/0); this process only coordinates")
    p.add_argument("--round-timeout", type=float, default=3600.0, metavar="SECONDS",
                   help="--distributed: give up on a forum's round after this long (default 3600)")
    p.add_argument("--report", metavar="FILE", help="write a JSON run report to FILE")
    p.add_argument("--metrics-file", metavar="FILE",
                   help="update Prometheus metrics in FILE (node_exporter textfile collector, *.prom)")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="log lines as text (default) or one JSON object per line (secrets scrubbed)")
    p.add_argument("--no-gap-check", dest="gap_check", action="store_false",
                   help="do not alert on forums without a successful crawl for 3 intervals")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log output (-v info, -vv debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, summary only")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler import interrupt
    from crawler.crawl import CrawlRefused, run_crawl
    from crawler.privacy import redact, redact_obj  # one redaction for logs, errors and report

    refused = check_output_paths(created=("metrics_file",), report=args.report,
                                 metrics_file=args.metrics_file)
    if refused:  # before the config, Tor or any request: a typo must not cost a crawl
        print(refused, file=sys.stderr)
        return EXIT_CONFIG
    level = ["WARNING", "INFO", "DEBUG"][min(args.verbose, 2)]
    if args.log_format == "json":
        from crawler import logjson

        logjson.install(level)
    try:
        cfg = load_or_exit(args.config)
    except SystemExit as exc:
        if args.metrics_file:
            write_metrics(args.metrics_file, None, None, int(exc.code or 2))
        raise

    def progress(msg: str) -> None:
        if not args.quiet:
            print(redact(msg), file=sys.stderr, flush=True)

    try:
        if args.distributed:
            from crawler.distributed.coordinator import run_distributed

            result = run_distributed(cfg, args.distributed, args.forum, direct=args.direct,
                                     progress=progress, timeout=args.round_timeout)
        else:
            with interrupt.installed():  # SIGTERM/SIGINT before Scrapy's handlers: exit 128+N
                result = run_crawl(cfg, args.forum, direct=args.direct, progress=progress,
                                   log_level=level, show_progress=not args.quiet,
                                   log_format=args.log_format)
    except CrawlRefused as exc:
        print(redact(f"error: {exc}"), file=sys.stderr)
        if args.metrics_file:
            write_metrics(args.metrics_file, cfg, None, exc.exit_code)
        return exc.exit_code
    except interrupt.Interrupted as exc:
        print(f"stopped by {exc}: nothing crawled", file=sys.stderr)
        return 128 + exc.signum
    try:
        for forum in result.forums:
            print(forum.line())
            for sample in forum.error_samples[:5]:
                print(redact(f"  {sample['kind']}: {sample['message']}"))
        print(result.summary(), flush=True)
    except BrokenPipeError:  # `crawl | head -1`: the report, metrics and gap alerts still matter
        from crawler.cli import closed_pipe

        closed_pipe()
    if result.spooled:
        print(f"store unavailable: {result.spooled} document(s) kept in the spool; they are sent "
              "on the next run or by `darkwatch spool replay`", file=sys.stderr)
    if result.alerts_undelivered:  # the alerts are stored, but nobody was told
        print(redact("alerts: " + ", ".join(
            f"{n} message(s) not delivered to {name}" for name, n in result.alerts_undelivered.items())
            + "; the alerts stay in the store (`darkwatch alerts list`): check the channel"),
            file=sys.stderr)
    if args.report:
        try:
            write_private(args.report, json.dumps(redact_obj(result.to_dict()), indent=2))
        except OSError as exc:  # checked before the crawl; changed since (or a full disk)
            print(f"error: --report {args.report}: not written: {exc.strerror or exc}",
                  file=sys.stderr)
    # Store down outranks a failed forum: the SOC sees neither the posts nor the alerts.
    code = EXIT_STORE if result.spooled else EXIT_PARTIAL if result.failed else EXIT_OK
    stopped = [f.forum for f in result.forums if f.status == "stopped"]
    if stopped:  # not a failure: the shell convention, 130 (SIGINT) or 143 (SIGTERM)
        code = interrupt.exit_code()
        print(f"stopped by {interrupt.name()}: {', '.join(stopped)} interrupted, what was fetched "
              "is stored", file=sys.stderr)
    if result.store_error:  # the store takes no more writes in this run: no gap/blind alerts
        print(redact(f"error: {result.store_error}"), file=sys.stderr)
        if args.metrics_file:
            write_metrics(args.metrics_file, cfg, result, EXIT_STORE_WRITE)
        return EXIT_STORE_WRITE
    from crawler.monitoring import raise_blind_alerts  # a forum that read nothing: alert now

    for alert in raise_blind_alerts(cfg, result.forums):
        print(f"monitoring: {alert.rule['title']}", file=sys.stderr)
    if args.gap_check:
        check_gaps(cfg)
    if args.metrics_file:
        write_metrics(args.metrics_file, cfg, result, code)
    return code


def write_metrics(path: str, cfg: Config | None, result: CrawlResult | None, code: int) -> None:
    """Update the metrics file; a failure here is reported but never changes the exit code."""
    from crawler.metrics import write_crawl_metrics, write_refused_metrics

    store = None
    try:
        if cfg is not None:
            from crawler.sinks.sqlite import SqliteStore

            store = SqliteStore(cfg.store.sqlite)
        depth = spool_depth(cfg)
        if result is None:
            write_refused_metrics(path, code, spool_depth=depth, store=store)
        else:
            write_crawl_metrics(path, result, exit_code=code, spool_depth=depth, store=store)
    except Exception as exc:  # metrics must not turn a crawl into a failure
        print(f"warning: metrics file {path} not updated: {exc}", file=sys.stderr)
    finally:
        if store is not None:
            store.close()


def spool_depth(cfg: Config | None) -> int | None:
    es = cfg.store.elasticsearch if cfg is not None else None
    if es is None:
        return None
    from crawler.sinks.spool import Spool

    return Spool(es.spool_dir).status().pending


def check_gaps(cfg: Config) -> None:
    """Alert (store + channels) on enabled forums without a successful crawl for 3 intervals."""
    from crawler.crawl import open_notifier
    from crawler.monitoring import monitoring_gaps
    from crawler.sinks.sqlite import SqliteStore

    store = SqliteStore(cfg.store.sqlite)
    try:
        gaps = monitoring_gaps(store, [f for f in cfg.forums if f.enabled])
        if gaps:
            store.write_alerts(gaps)
    finally:
        store.close()
    for alert in gaps:
        print(f"monitoring gap: {alert.rule['title']}", file=sys.stderr)
    if gaps:
        notifier = open_notifier(cfg)
        if notifier is not None:
            notifier.notify(gaps)
            notifier.close()


def write_private(path: str, text: str) -> None:
    """Owner-only, whatever the umask: reports name forums, URLs and error details."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing report keeps its old mode on open
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
