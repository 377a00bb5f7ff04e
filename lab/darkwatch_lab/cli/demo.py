"""``darkwatch demo``: the README's main job, end to end on one machine.

Fixture forum -> private Tor network with the forum as an onion service -> crawl through
Tor into the embedded SQLite store with the shipped rules -> summary -> everything torn down.
Registered in the product's CLI through the ``darkwatch.commands`` entry point (lab/pyproject.toml).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from collections import Counter
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="crawl the bundled fixture forum through a private Tor lab")
    p.add_argument("--dir", default=".darkwatch/demo", help="working directory (recreated)")
    p.add_argument("--direct", action="store_true",
                   help="skip the Tor lab and crawl the fixture over loopback")
    p.set_defaults(handler=run)


def say(msg: str) -> None:
    print(f"demo: {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from crawler.config.loader import parse_config
    from crawler.crawl import CrawlRefused, run_crawl
    from crawler.exitcodes import ExitCode
    from crawler.shipped import SHIPPED_RULES
    from darkwatch_lab.forum import FixtureForum

    work = Path(args.dir).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, mode=0o700)
    # Demo fingerprints only need to be consistent within this run.
    os.environ.setdefault("DARKWATCH_FINGERPRINT_KEY", secrets.token_hex(32))

    forum = FixtureForum(seed=1)
    base = forum.start()
    say(f"fixture forum at {base}")
    lab = None
    try:
        if args.direct:
            forums = [{"name": f"demo-{skin}", "engine": skin, "delay": 0, "timezone": "Europe/Paris",
                       "start_urls": [base + forum.board_page_path(skin, b)
                                      for b in forum.board_ids(private=False)]}
                      for skin in ("phpbb", "mybb")]
            tor = {}
        else:
            from darkwatch_lab.tornet import LabError, TorLab, lab_forums

            lab = TorLab(work / "lab")
            port = int(base.rsplit(":", 1)[1])
            try:
                state = lab.up(forum_port=port, progress=say)
            except LabError as exc:
                say(f"the Tor lab could not start: {exc}")
                return ExitCode.TOR
            say(f"onion service {state.onion_url} is up")
            forums = lab_forums(state.onion_url)
            tor = {"mode": "system", "socks": state.socks, "control": state.control}
        import yaml

        text = yaml.safe_dump({"store": {"sqlite": str(work / "darkwatch.db")},
                               **({"tor": tor} if tor else {}), "forums": forums})
        (work / "darkwatch.yml").write_text(text)
        cfg = parse_config(text, str(work / "darkwatch.yml"), work)
        cfg.rules.paths = [str(SHIPPED_RULES)]
        try:
            result = run_crawl(cfg, direct=args.direct, progress=say, show_progress=True)
        except CrawlRefused as exc:
            say(str(exc))
            return exc.exit_code
    finally:
        if lab is not None:
            lab.down()
        forum.stop()
    for f in result.forums:
        print(f.line())
    print(result.summary())
    from crawler.sinks.sqlite import SqliteStore

    store = SqliteStore(cfg.store.sqlite)
    try:
        by_forum = Counter(p.forum for p in store.iter_posts())
        alerts = store.list_alerts(limit=100_000)
        incidents = store.incidents.list()
        related = {i.id: store.incidents.related(i.id, limit=3) for i in incidents[:3]}
    finally:
        store.close()
    print("posts stored: " + ", ".join(f"{k} {v}" for k, v in sorted(by_forum.items())))
    print_incidents(incidents, related, len(alerts))
    print(f"store: {cfg.store.sqlite}  (darkwatch posts export --config {work / 'darkwatch.yml'})")
    return 1 if result.failed else 0


def print_incidents(incidents: list, related: dict[str, list[dict]], raw_alerts: int) -> None:
    """The analyst's view: incidents by level and the biggest ones (raw alerts as one figure)."""
    from crawler.incidents.model import LEVELS
    from crawler.privacy import clean

    levels = Counter(i.level for i in incidents)
    by_level = ", ".join(f"{lv} {levels[lv]}" for lv in reversed(LEVELS) if levels[lv])
    print(f"incidents: {len(incidents)} ({by_level or 'none'}) from {raw_alerts} raw alerts"
          " (`darkwatch incidents list`)")
    for inc in incidents[:3]:
        print(f"  {inc.id}  [{inc.level}] {clean(inc.title, 120)}  ({clean(inc.forum, 30)})")
        for r in related.get(inc.id, []):
            if r["shared_fingerprints"]:
                print(f"    related {r['id']} on {clean(r['forum'], 30)}: "
                      f"{r['shared_fingerprints']} shared NIR(s)")
