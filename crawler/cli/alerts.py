"""``darkwatch alerts list|ack|close|false-positive|test``: triage from a terminal.

Reads and writes through the configured ``AlertIndex`` (SQLite or Elasticsearch), the same
documents analysts edit in Kibana, so a status set there is what ``list`` shows here.

Triage must work exactly when Elasticsearch is down: SQLite holds every alert, so ``list``
falls back to it (saying so once), and a status change is saved in SQLite and queued in the
spool, applied to Elasticsearch in order with the spooled documents on the next replay.
"""

from __future__ import annotations

import argparse
import json
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_STORE, add_config_arg, load_or_exit
from crawler.privacy import redact
from crawler.sinks.base import StoreError
from crawler.vocabulary import LEVELS

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


def _error(text: str) -> None:
    print(redact(f"error: {text}"), file=sys.stderr)


def _open(opener, *args):
    try:
        return opener(*args)
    except StoreError:  # damaged SQLite store: main() prints its one line, exit 2
        raise
    except Exception as exc:  # bad credentials, unreadable SQLite file, spool not writable
        _error(f"cannot open the alert store: {type(exc).__name__}: {exc}")
        raise SystemExit(EXIT_STORE) from None


def _open_index(args: argparse.Namespace):
    from crawler.sinks import open_alert_index

    cfg = load_or_exit(args.config)
    index = _open(open_alert_index, cfg)
    if _is_es(index):
        index.announce = False  # this command says itself when Elasticsearch is down
    return cfg, index


def _unreachable(exc: BaseException) -> bool:
    from crawler.sinks.es_client import is_transient

    return is_transient(exc)


def _local(cfg):
    from crawler.sinks import open_state

    return _open(open_state, cfg)


def _close(index) -> None:
    if _is_es(index):
        index.close(flush=False)  # sending the spool is `spool replay`'s or a crawl's job
    else:
        index.close()


def format_line(alert) -> str:
    from crawler.privacy import clean

    rule = alert.rule.get("title") or alert.rule.get("name") or alert.rule.get("id")
    counts = ",".join(f"{k}={v}" for k, v in sorted(alert.counts.items()))
    return (f"{alert.id}  {alert.created}  {alert.level:<13} {alert.status:<14} {clean(alert.forum, 30)}  "
            f"{clean(str(rule), 60)}  [{counts}]  {clean(alert.thread_title, 80)}  "
            f"{clean(alert.post_url, 300)}")


def list_alerts(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        from crawler.config.duration import parse_since

        try:
            since = parse_since(args.since)
        except ValueError as exc:
            print(f"error: --since: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    cfg, index = _open_index(args)
    query = {"status": None if args.status == "all" else args.status, "min_level": args.level,
             "since": since, "limit": args.limit}
    try:
        alerts = index.list_alerts(**query)
        queued = index.spool.count_op(_status_op()) if _is_es(index) else 0
        if queued:
            print(f"note: {queued} status change(s) made while Elasticsearch was down are still "
                  "queued in the spool (`darkwatch spool replay` sends them)", file=sys.stderr)
    except StoreError:  # damaged SQLite store: main() prints its one line, exit 2
        raise
    except Exception as exc:
        if not (_is_es(index) and _unreachable(exc)):
            _error(f"listing alerts failed: {type(exc).__name__}: {exc}")
            return EXIT_STORE
        alerts = None
        why = _describe(exc, cfg)
    finally:
        _close(index)
    if alerts is None:
        local = _local(cfg)
        try:
            alerts = local.list_alerts(**query)
        finally:
            local.close()
        print(redact(f"warning: {why}: alerts listed from the local store {cfg.store.sqlite} "
                     "(statuses set in Kibana meanwhile are not shown)"), file=sys.stderr)
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


class _Problem(Exception):
    """A triage refusal: message and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _apply(index, given: str, status: str, note: str | None) -> str:
    """Set the status on ``index``; the full alert id, or :class:`_Problem`."""
    if index.set_alert_status(given, status, note):
        return given
    alert_id, problem = resolve_id(index, given)
    if alert_id is None:
        raise _Problem(str(problem), EXIT_PARTIAL)
    if not index.set_alert_status(alert_id, status, note):
        raise _Problem(f"alert {alert_id} vanished while updating it", EXIT_PARTIAL)
    return alert_id


def set_status(args: argparse.Namespace) -> int:
    cfg, index = _open_index(args)
    queued_why = None
    try:
        if _is_es(index):
            alert_id, queued_why = _set_on_es(cfg, index, args)
        else:
            alert_id = _apply(index, args.alert_id, args.status, args.note)
    except _Problem as exc:
        _error(str(exc))
        return exc.code
    except ValueError as exc:
        _error(str(exc))
        return EXIT_CONFIG
    except StoreError:  # damaged SQLite store: main() prints its one line, exit 2
        raise
    except Exception as exc:
        _error(f"updating the alert failed: {type(exc).__name__}: {exc}")
        return EXIT_STORE
    finally:
        _close(index)
    print(f"{alert_id}: {args.status}" + (f" ({args.note})" if args.note else ""))
    if queued_why:
        print(redact(f"warning: {queued_why}: status saved in the local store {cfg.store.sqlite} "
                     f"and queued for Elasticsearch in the spool {cfg.store.elasticsearch.spool_dir}; "
                     "it is applied on the next crawl or by `darkwatch spool replay`"), file=sys.stderr)
    return EXIT_OK


def _set_on_es(cfg, sink, args: argparse.Namespace) -> tuple[str, str | None]:
    """Elasticsearch first, after the changes queued before this one; SQLite always.

    Returns the alert id and, when Elasticsearch could not be reached, why (the change is
    then queued in the spool)."""
    why = None
    with sink.spool.exclusive() as alone:
        if alone:  # no crawl is writing: send what is queued first, so changes stay in order
            res = sink.flush()
            if res.error or res.kept:
                why = res.error or "Elasticsearch refused documents for now (429/5xx)"
        elif sink.spool.count_op(_status_op()):
            why = "earlier status changes are still queued for Elasticsearch"
        alert_id = None
        if why is None:
            try:
                alert_id = _apply(sink, args.alert_id, args.status, args.note)
            except Exception as exc:
                if not _unreachable(exc):
                    raise
                why = _describe(exc, cfg)
    local = _local(cfg)
    try:
        if alert_id is None:
            alert_id = _apply(local, args.alert_id, args.status, args.note)
            sink.queue_status(alert_id, args.status, args.note)
        else:  # keep the local copy in step (False: an alert only Elasticsearch knows)
            local.set_alert_status(alert_id, args.status, args.note)
    finally:
        local.close()
    return alert_id, why


def _is_es(index) -> bool:
    return type(index).__name__ == "ElasticsearchSink"


def _status_op() -> str:
    from crawler.sinks.elasticsearch import STATUS_OP

    return STATUS_OP


def _describe(exc: BaseException, cfg) -> str:
    from crawler.sinks.es_client import describe

    return describe(exc, cfg.store.elasticsearch)


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
