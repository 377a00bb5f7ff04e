"""``darkwatch alerts list|ack|close|false-positive|test``: triage from a terminal.

Reads and writes through the configured ``AlertIndex`` (SQLite or Elasticsearch), the same
documents analysts edit in Kibana, so a status set there is what ``list`` shows here.
"""

from __future__ import annotations

import argparse
import json
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_STORE, add_config_arg, load_or_exit

LEVELS = ("informational", "low", "medium", "high", "critical")
STATUSES = ("open", "ack", "closed", "false_positive")
# Verb on the command line -> status stored on the alert document.
ACTIONS = {"ack": "ack", "close": "closed", "false-positive": "false_positive", "reopen": "open"}
MIN_PREFIX = 8


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list and triage alerts; test notification channels")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)

    ls = asub.add_parser("list", help="list alerts, newest first")
    add_config_arg(ls)
    ls.add_argument("--status", default="all", type=_status,
                    help="open, ack, closed, false_positive or all (default: all)")
    ls.add_argument("--level", choices=LEVELS, help="this level and above")
    ls.add_argument("--since", metavar="WHEN",
                    help="created since: a duration back from now (24h, 7d) or an ISO 8601 time")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    ls.add_argument("--format", choices=("text", "jsonl"), default="text")
    ls.set_defaults(handler=list_alerts)

    for verb, status in ACTIONS.items():
        a = asub.add_parser(verb, help=f"set an alert's status to {status}")
        add_config_arg(a)
        a.add_argument("alert_id", metavar="ID",
                       help=f"alert id (or a unique prefix of >= {MIN_PREFIX} chars)")
        a.add_argument("--note", help="why (kept with the alert)")
        a.set_defaults(handler=set_status, status=status)

    t = asub.add_parser("test", help="send a test notification to every configured channel")
    add_config_arg(t)
    t.set_defaults(handler=test_channels)


def _status(v: str) -> str:
    v = v.strip().lower().replace("-", "_")
    if v not in (*STATUSES, "all"):
        raise argparse.ArgumentTypeError(f"unknown status {v!r}; one of {', '.join(STATUSES)}, all")
    return v


def _open_index(args: argparse.Namespace):
    from crawler.sinks import open_alert_index

    cfg = load_or_exit(args.config)
    try:
        return open_alert_index(cfg)
    except Exception as exc:  # ES down, bad credentials, unreadable SQLite file
        print(f"error: cannot open the alert store: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_STORE) from None


def _close(index) -> None:
    close = getattr(index, "close", None)
    if callable(close):
        close()


def format_line(alert) -> str:
    from crawler.alerts.scrub import clean

    rule = alert.rule.get("title") or alert.rule.get("name") or alert.rule.get("id")
    counts = ",".join(f"{k}={v}" for k, v in sorted(alert.counts.items()))
    return (f"{alert.id}  {alert.created}  {alert.level:<13} {alert.status:<14} {clean(alert.forum, 30)}  "
            f"{clean(str(rule), 60)}  [{counts}]  {clean(alert.thread_title, 80)}  "
            f"{clean(alert.post_url, 300)}")


def list_alerts(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        from crawler.alerts.duration import parse_since

        try:
            since = parse_since(args.since)
        except ValueError as exc:
            print(f"error: --since: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    index = _open_index(args)
    try:
        alerts = index.list_alerts(status=None if args.status == "all" else args.status,
                                   min_level=args.level, since=since, limit=args.limit)
    except Exception as exc:
        print(f"error: listing alerts failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_STORE
    finally:
        _close(index)
    for a in alerts:
        if args.format == "jsonl":
            sys.stdout.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(format_line(a) + "\n")
    if args.format == "text":
        full = len(alerts) == args.limit
        print(f"{len(alerts)} alert(s)" + (" (limit reached: use --limit)" if full else ""), file=sys.stderr)
    return EXIT_OK


def resolve_id(index, given: str) -> tuple[str | None, str | None]:
    """(full id, None) or (None, problem). Exact ids need no lookup; prefixes must be unique."""
    given = given.strip().lower()
    if len(given) < MIN_PREFIX:
        return None, f"alert id {given!r} is too short: give the full id or at least {MIN_PREFIX} characters"
    matches = [a.id for a in index.list_alerts(limit=100_000) if a.id.startswith(given)]
    if given in matches:
        return given, None
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, f"no alert with id {given!r} (see `darkwatch alerts list`)"
    return None, f"alert id prefix {given!r} is ambiguous ({len(matches)} alerts): give more characters"


def set_status(args: argparse.Namespace) -> int:
    index = _open_index(args)
    try:
        if index.set_alert_status(args.alert_id, args.status, args.note):
            alert_id = args.alert_id
        else:
            alert_id, problem = resolve_id(index, args.alert_id)
            if alert_id is None:
                print(f"error: {problem}", file=sys.stderr)
                return EXIT_PARTIAL
            if not index.set_alert_status(alert_id, args.status, args.note):
                print(f"error: alert {alert_id} vanished while updating it", file=sys.stderr)
                return EXIT_PARTIAL
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        print(f"error: updating the alert failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_STORE
    finally:
        _close(index)
    print(f"{alert_id}: {args.status}" + (f" ({args.note})" if args.note else ""))
    return EXIT_OK


def test_channels(args: argparse.Namespace) -> int:
    """One test message per channel, with the outcome per channel: checks URLs, credentials, routes."""
    import time

    from crawler.alerts.channels import Channel, validate_channels

    cfg = load_or_exit(args.config)
    if not cfg.alerts.channels:
        print("no channels configured (alerts.channels)", file=sys.stderr)
        return EXIT_CONFIG
    problems = validate_channels(cfg.alerts.channels)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    failed = len(problems)
    from crawler.alerts.channels import instantiate

    for url in cfg.alerts.channels:
        if instantiate(url, cfg.alerts.timeout) is None:
            continue
        ch = Channel(url, timeout=cfg.alerts.timeout, retries=0)
        fut = ch.submit("[darkwatch] test notification",
                        "darkwatch can reach this channel. No action needed.", "info")
        ok = bool(fut.result(timeout=cfg.alerts.close_timeout or None))
        ch.close(time.monotonic() + 1)
        print(f"{'ok    ' if ok else 'FAILED'} {ch.name}")
        failed += not ok
    return EXIT_PARTIAL if failed else EXIT_OK
