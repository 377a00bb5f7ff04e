"""``darkwatch incidents list|show|ack|close|false-positive|reopen|merge``: triage per leak.

An incident is one case per thread, built from its alerts as they are stored (see
``crawler.incidents``); ``darkwatch alerts`` stays for the raw detections. Reads and writes the
embedded SQLite store, which holds every incident whatever the configured sink.

With Elasticsearch configured, statuses analysts set in Kibana are adopted first (see
``crawler.sinks.es_incidents``), and a triage here is written to both: SQLite at once, the
incident document through the spool (queued, and said so, while Elasticsearch is down).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_STORE, add_config_arg, load_or_exit
from crawler.incidents.model import LEVELS, STATUSES
from crawler.privacy import redact
from crawler.sinks.base import StoreError

# Verb on the command line -> status stored on the incident.
ACTIONS = {"ack": "acknowledged", "close": "closed", "false-positive": "false-positive",
           "reopen": "open"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="list and triage incidents (one case per leaking thread)")
    isub = p.add_subparsers(dest="incidents_command", metavar="ACTION", required=True)

    ls = isub.add_parser("list", help="list incidents, highest level and biggest first")
    add_config_arg(ls)
    ls.add_argument("--status", default="all", type=_status,
                    help=f"{', '.join(STATUSES)} or all (default: all)")
    ls.add_argument("--level", choices=LEVELS, help="this level and above")
    ls.add_argument("--since", metavar="WHEN",
                    help="last seen since: a duration back from now (24h, 7d) or an ISO 8601 time")
    ls.add_argument("--forum", metavar="NAME", help="only this forum")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    ls.add_argument("--format", choices=("text", "jsonl"), default="text")
    ls.set_defaults(handler=list_incidents)

    sh = isub.add_parser("show", help="one incident: timeline, evidence posts, related incidents")
    add_config_arg(sh)
    sh.add_argument("incident_id", metavar="ID", help="incident id or a unique prefix")
    sh.add_argument("--format", choices=("text", "json"), default="text")
    sh.set_defaults(handler=show_incident)

    for verb, status in ACTIONS.items():
        a = isub.add_parser(verb, help=f"set an incident's status to {status}")
        add_config_arg(a)
        a.add_argument("incident_id", metavar="ID", help="incident id or a unique prefix")
        _who(a)
        a.set_defaults(handler=set_status, status=status)

    m = isub.add_parser("merge", help="join the second incident into the first (same leak)")
    add_config_arg(m)
    m.add_argument("keep", metavar="ID", help="the incident that stays")
    m.add_argument("gone", metavar="ID2", help="the incident joined into it")
    _who(m)
    m.set_defaults(handler=merge)


def _who(p: argparse.ArgumentParser) -> None:
    p.add_argument("--note", default="", help="why (kept in the incident's history)")
    p.add_argument("--by", default=None, help="who (default: the OS user)")


def _status(v: str) -> str:
    v = v.strip().lower().replace("_", "-")
    v = {"ack": "acknowledged", "fp": "false-positive"}.get(v, v)
    if v not in (*STATUSES, "all"):
        raise argparse.ArgumentTypeError(f"unknown status {v!r}; one of {', '.join(STATUSES)}, all")
    return v


def _error(text: str) -> None:
    print(redact(f"error: {text}"), file=sys.stderr)


def _user(given: str | None) -> str:
    if given and given.strip():
        return given.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _open(args: argparse.Namespace):
    from crawler.sinks import open_state

    cfg = load_or_exit(args.config)
    args.cfg = cfg
    try:
        return open_state(cfg)
    except StoreError:
        raise  # main() prints its one line, exit 2
    except Exception as exc:
        _error(f"cannot open the store {cfg.store.sqlite}: {type(exc).__name__}: {exc}")
        raise SystemExit(EXIT_STORE) from None


def _sink(cfg):
    """The Elasticsearch sink when configured (it says nothing itself: this command words it)."""
    if cfg.store.elasticsearch is None:
        return None
    from crawler.sinks.elasticsearch import ElasticsearchSink

    try:
        sink = ElasticsearchSink(cfg.store.elasticsearch)
    except Exception as exc:  # spool directory not writable, bad TLS settings
        _error(f"cannot open the Elasticsearch sink: {type(exc).__name__}: {exc}")
        raise SystemExit(EXIT_STORE) from None
    sink.announce = False
    return sink


def _describe(exc: BaseException, cfg) -> str:
    from crawler.sinks.es_client import describe

    return describe(exc, cfg.store.elasticsearch)


def _adopt_kibana(cfg, store) -> None:
    """Statuses set in Kibana into SQLite before reading; one stderr line when that could not
    be done (what is shown is then the local store's view)."""
    from crawler.sinks.es_client import is_transient
    from crawler.sinks.es_incidents import pull_statuses

    sink = _sink(cfg)
    if sink is None:
        return
    why = None
    try:
        with sink.spool.exclusive() as alone:
            if alone:  # send darkwatch's own queued changes first, so they are not taken for Kibana's
                res = sink.flush()
                if not res.ok:
                    why = res.error or "Elasticsearch refused documents for now (429/5xx)"
            elif sink.pending():
                why = "a crawl is sending its spool"
            if why is None:
                pull_statuses(sink, store, write_back=False)
    except StoreError:
        raise
    except Exception as exc:
        if not is_transient(exc):
            raise
        why = _describe(exc, cfg)
    finally:
        sink.close(flush=False)
    if why:
        print(redact(f"warning: {why}: incidents read from the local store {cfg.store.sqlite} "
                     "(statuses set in Kibana meanwhile are not shown)"), file=sys.stderr)


def _publish(cfg, store, inc_ids: list[str]) -> None:
    """An analyst's change to Elasticsearch: queued in the spool, then sent when no crawl is
    writing; says so on stderr when it stays queued."""
    sink = _sink(cfg)
    if sink is None:
        return
    why = None
    try:
        for inc_id in inc_ids:
            inc = store.incidents.get(inc_id)
            if inc is not None:
                sink.queue_incident(inc, store.incidents.related(inc_id))
        with sink.spool.exclusive() as alone:
            if alone:
                res = sink.flush()
                if not res.ok:
                    why = res.error or "Elasticsearch refused documents for now (429/5xx)"
            else:
                why = "a crawl is writing to Elasticsearch"
    except StoreError:
        raise
    except Exception as exc:
        why = _describe(exc, cfg)
    finally:
        sink.close(flush=False)
    if why:
        print(redact(f"warning: {why}: the change is saved in the local store {cfg.store.sqlite} "
                     f"and queued for Elasticsearch in the spool {cfg.store.elasticsearch.spool_dir}; "
                     "it is applied on the next crawl or by `darkwatch spool replay`"), file=sys.stderr)


def incident_json(incidents, inc, related: list[dict] | None = None) -> dict[str, Any]:
    """The jsonl shape: the incident's fields plus ``related`` (fingerprints left out)."""
    from crawler.privacy import scrub

    d = inc.to_dict()
    d.pop("linked", None)
    d["thread_title"] = scrub(d["thread_title"])  # crawled text: no NIR shape leaves this way
    d["related"] = related if related is not None else incidents.related(inc.id)
    return d


def _line(inc) -> str:
    from crawler.privacy import clean

    seen = inc.last_seen or inc.updated
    return (f"{inc.id}  {inc.level:<13} {inc.status:<14} {seen:<20}  {clean(inc.forum, 30)}  "
            f"posts={inc.posts} alerts={inc.alerts} nirs={inc.nir_distinct}  {clean(inc.title, 140)}")


def list_incidents(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        from crawler.config.duration import parse_since

        try:
            since = parse_since(args.since)
        except ValueError as exc:
            _error(f"--since: {exc}")
            return EXIT_CONFIG
    if args.limit < 1:
        _error("--limit must be at least 1")
        return EXIT_CONFIG
    store = _open(args)
    try:
        _adopt_kibana(args.cfg, store)
        incs = store.incidents
        found = incs.list(status=None if args.status == "all" else args.status,
                          min_level=args.level, since=since, forum=args.forum, limit=args.limit)
        for inc in found:
            if args.format == "jsonl":
                sys.stdout.write(json.dumps(incident_json(incs, inc), ensure_ascii=False) + "\n")
            else:
                sys.stdout.write(_line(inc) + "\n")
    finally:
        store.close()
    if args.format == "text":
        full = len(found) == args.limit
        print(f"{len(found)} incident(s)" + (" (limit reached: use --limit)" if full else ""),
              file=sys.stderr)
    return EXIT_OK


def _resolve(incs, ref: str) -> str | None:
    from crawler.incidents.sqlite import IncidentNotFound

    try:
        return incs.resolve(ref)
    except IncidentNotFound as exc:
        _error(str(exc))
        return None


def show_incident(args: argparse.Namespace) -> int:
    from crawler.privacy import clean

    store = _open(args)
    try:
        _adopt_kibana(args.cfg, store)
        incs = store.incidents
        inc_id = _resolve(incs, args.incident_id)
        if inc_id is None:
            return EXIT_CONFIG
        inc = incs.get(inc_id)
        related = incs.related(inc_id)
        history = incs.history(inc_id)
        evidence = incs.evidence(inc_id)
        if args.format == "json":
            d = incident_json(incs, inc, related)
            d["fingerprints"] = incs.fingerprints(inc_id)  # keyed HMACs, never clear numbers
            d["history"] = [e.to_dict() for e in history]
            d["evidence"] = [{"post_id": e.post_id, "post_url": e.post_url, "author": e.author,
                              "published": e.published, "rules": sorted(e.levels),
                              "level": e.live_level, "nirs": len(e.fingerprints),
                              "suppressed": sorted(e.ignored)} for e in evidence]
            print(json.dumps(d, ensure_ascii=False, indent=2))
            return EXIT_OK
        out = [f"incident {inc.id}  [{inc.level}] {inc.status}"
               + (f" (by {clean(inc.status_by, 40)} at {inc.status_at}"
                  + (f": {clean(inc.status_note, 200)}" if inc.status_note else "") + ")"
                  if inc.status_by else ""),
               f"  {clean(inc.title, 200)}",
               f"  forum {clean(inc.forum, 40)}  thread “{clean(inc.thread_title, 120)}”",
               f"  {clean(inc.thread_url, 300)}",
               f"  seen {inc.first_seen} .. {inc.last_seen}   posts {inc.posts}  alerts {inc.alerts}"
               f"  distinct NIRs {inc.nir_distinct}",
               f"  labs: {', '.join(clean(x, 60) for x in inc.labs) or '-'}",
               f"  rules: {', '.join(inc.rules) or '-'}",
               f"  authors: {', '.join(clean(x, 40) for x in inc.authors) or '-'}",
               f"  masked samples: {', '.join(clean(x, 40) for x in inc.samples) or '-'}"]
        if inc.merged_into:
            out.append(f"  merged into {inc.merged_into}")
        if inc.merged_from:
            out.append(f"  merged from {', '.join(inc.merged_from)}")
        if inc.suppressed_rules:
            out.append(f"  suppressed (false-positive): {', '.join(inc.suppressed_rules)}")
        out.append("related incidents:" if related else "related incidents: none")
        for r in related:
            why = []
            if r["shared_fingerprints"]:
                why.append(f"{r['shared_fingerprints']} shared NIR fingerprint(s)")
            if r["shared_authors"]:
                why.append("author " + ", ".join(clean(a, 40) for a in r["shared_authors"][:3]))
            out.append(f"  {r['id']}  [{r['level']}] {r['status']:<14} {clean(r['forum'], 30)}  "
                       f"{'; '.join(why)}  {clean(r['title'], 100)}")
        out.append("evidence posts:")
        for e in evidence:
            sup = f"  (suppressed: {', '.join(e.ignored)})" if e.ignored else ""
            out.append(f"  {e.published or '-':<20}  [{e.live_level or 'suppressed'}] "
                       f"{clean(e.author, 30)}  nirs={len(e.fingerprints)}  "
                       f"{', '.join(sorted(e.levels))}  {clean(e.post_url, 300)}{sup}")
        out.append("history:")
        for ev in history:
            data = ", ".join(f"{k}={v}" for k, v in ev.data.items())
            note = f"  “{clean(ev.note, 200)}”" if ev.note else ""
            out.append(f"  {ev.at}  {ev.kind:<16} by {clean(ev.by, 40)}  {clean(data, 300)}{note}")
        print("\n".join(out))
        return EXIT_OK
    finally:
        store.close()


def set_status(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        incs = store.incidents
        inc_id = _resolve(incs, args.incident_id)
        if inc_id is None:
            return EXIT_CONFIG
        inc = incs.set_status(inc_id, args.status, _user(args.by), args.note)
        _publish(args.cfg, store, [inc_id])
    finally:
        store.close()
    print(f"{inc.id}: {inc.status}" + (f" ({args.note})" if args.note else ""))
    return EXIT_OK


def merge(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        incs = store.incidents
        keep, gone = _resolve(incs, args.keep), _resolve(incs, args.gone)
        if keep is None or gone is None:
            return EXIT_CONFIG
        if keep == gone:
            _error(f"cannot merge incident {keep} with itself: give two different incidents")
            return EXIT_CONFIG
        try:
            inc = incs.merge(keep, gone, _user(args.by), args.note)
        except ValueError as exc:
            _error(str(exc))
            return EXIT_CONFIG
        _publish(args.cfg, store, [keep, gone])
    finally:
        store.close()
    print(f"{gone} merged into {inc.id}: {inc.title}")
    return EXIT_OK
