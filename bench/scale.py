"""Scale-out: the fixture crawl's pages/s with 1 and 2 `darkwatch worker` processes.

    python bench/scale.py [--latency 0.1] [--concurrency 2] [--threads 120]

A real redis-server and the fixture forum (phpbb + mybb skins) on loopback. Each round is
one `darkwatch crawl --distributed` on a fresh store; pages/s = pages / round duration (from
the coordinator's report). ``--latency`` adds a fixed delay to every page, as an onion
service's round trips do: a Tor crawl waits on the network, which is what more workers (each
with its own Tor client) buy back. The forums' politeness delay is 0 here; in production it
caps the per-forum rate for any number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from darkwatch_lab.forum import FixtureForum  # noqa: E402
from darkwatch_lab.redis_server import RedisServer  # noqa: E402


def config(base: str, forum: FixtureForum, store: Path, concurrency: int) -> dict:
    forums = []
    for skin, engine in (("phpbb", "phpbb"), ("mybb", "mybb")):
        forums.append({
            "name": skin, "engine": engine, "delay": 0, "concurrency": concurrency, "timeout": 30,
            "max_pages": 5000, "timezone": "Europe/Paris",
            "start_urls": [base + forum.board_page_path(skin, b) for b in forum.board_ids(private=False)],
        })
    return {"store": {"sqlite": str(store)}, "rules": {"enabled": False}, "forums": forums}


def round_with(workers: int, forum: FixtureForum, concurrency: int, tmp: Path) -> dict:
    work = tmp / f"w{workers}"
    work.mkdir()
    cfg = work / "darkwatch.yml"
    cfg.write_text(yaml.safe_dump(config(forum.base_url, forum, work / "darkwatch.db", concurrency)))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with RedisServer(str(work)) as redis:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "crawler", "worker", redis.url, "-c", str(cfg), "--direct",
             "--id", f"bench{i}", "--exit-when-idle", "2"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(workers)]
        time.sleep(3)  # workers up (imports, reactor) before the round starts the clock
        report = work / "report.json"
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-m", "crawler", "crawl", "--distributed", redis.url, "-c", str(cfg),
             "--direct", "--report", str(report), "-q"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - t0
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    if res.returncode != 0:
        raise SystemExit(f"round with {workers} worker(s) failed ({res.returncode}):\n{res.stderr}")
    data = json.loads(report.read_text())
    pages = sum(f["pages"] for f in data["forums"])
    posts = sum(f["posts_new"] for f in data["forums"])
    return {"workers": workers, "pages": pages, "posts": posts, "seconds": wall,
            "pages_per_s": pages / wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every page")
    ap.add_argument("--concurrency", type=int, default=2, help="per forum, per worker")
    ap.add_argument("--threads", type=int, default=120, help="threads on the fixture's big board")
    args = ap.parse_args()
    forum = FixtureForum(seed=1, skins=("phpbb", "mybb"), latency=args.latency,
                         big_board_threads=args.threads)
    forum.start()
    try:
        with tempfile.TemporaryDirectory(prefix="darkwatch-scale-") as tmp:
            rows = [round_with(n, forum, args.concurrency, Path(tmp)) for n in (1, 2)]
    finally:
        forum.stop()
    print(f"fixture crawl, latency {args.latency * 1000:.0f} ms/page, concurrency "
          f"{args.concurrency} per forum per worker, {os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'pages':>6} {'posts':>6} {'seconds':>8} {'pages/s':>8}")
    for r in rows:
        print(f"{r['workers']:>8} {r['pages']:>6} {r['posts']:>6} {r['seconds']:>8.2f} "
              f"{r['pages_per_s']:>8.1f}")
    if rows[0]["pages"] != rows[1]["pages"] or rows[0]["posts"] != rows[1]["posts"]:
        print("error: the two rounds did not crawl the same pages/posts", file=sys.stderr)
        return 1
    print(f"ratio 2 workers / 1 worker: {rows[1]['pages_per_s'] / rows[0]['pages_per_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
