"""Pages/s through Tor: darkwatch vs a raw concurrent fetch of the same URLs (the ceiling).

    python bench/crawl_tor.py [--lab-dir DIR] [-n 200] [--concurrency 8]

Uses a running lab (``darkwatch lab up --dir DIR``) or starts one (and stops it after).
Three numbers, same onion forum, same SOCKS port, same concurrency:
  raw       N GETs with C threads over pysocks (one stream per request): the ceiling;
  handler   the same N URLs through darkwatch's Tor download handler inside Scrapy;
  crawl     `darkwatch crawl` of the phpbb skin (parse + store included), pages/s.
Target: darkwatch >= 80% of the ceiling.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.tor.probe import fetch  # noqa: E402
from darkwatch_lab.forum import FixtureForum  # noqa: E402
from darkwatch_lab.tornet import LabState, TorLab  # noqa: E402


def page_urls(onion_url: str, n: int) -> list[str]:
    """Board and thread pages of the fixture forum (same seed as the lab's), cycled to n."""
    f = FixtureForum(seed=1)
    paths = []
    for skin in ("phpbb", "mybb"):
        for b in f.board_ids(private=False):
            paths.append(f.board_page_path(skin, b))
            for th in f.content.board_threads(b):
                for page in range(1, f.thread_pages(skin, th.tid) + 1):
                    paths.append(f.thread_page_path(skin, th.tid, page))
    return [onion_url + paths[i % len(paths)] for i in range(n)]


def raw(socks: str, urls: list[str], c: int) -> tuple[float, int]:
    # A fresh SOCKS identity per measurement, like each darkwatch run: every route starts on cold
    # circuits (onion rendezvous included), so the comparison is fair.
    user = f"bench-raw-{secrets.token_hex(4)}"

    def one(u: str) -> int:
        return fetch(socks, u, username=user, password="x", timeout=60).status  # noqa: S106

    t0 = time.monotonic()
    with ThreadPoolExecutor(c) as pool:
        ok = sum(1 for s in pool.map(one, urls) if s == 200)
    return time.monotonic() - t0, ok


def handler(socks: str, urls: list[str], c: int) -> tuple[float, int]:
    res = subprocess.run([sys.executable, "-m", "crawler.tor.fetch_many", "--socks", socks,
                          "--concurrency", str(c), "--group", "bench", *urls],
                         capture_output=True, text=True, cwd=REPO, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return out["seconds"], sum(1 for r in out["results"] if r.get("status") == 200)


def crawl(lab_cfg: Path, c: int) -> tuple[float, int]:
    cfg = yaml.safe_load(lab_cfg.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        cfg["store"] = {"sqlite": f"{tmp}/bench.db"}
        cfg["forums"] = [dict(f, concurrency=c, delay=0.0) for f in cfg["forums"]
                         if f["engine"] == "phpbb"]
        path = Path(tmp) / "bench.yml"
        path.write_text(yaml.safe_dump(cfg))
        subprocess.run([sys.executable, "-m", "crawler", "crawl", "--config", str(path), "-q",
                        "--report", f"{tmp}/r.json"], cwd=REPO, check=True, capture_output=True)
        rep = json.loads(Path(f"{tmp}/r.json").read_text())["forums"][0]
    return rep["duration"], rep["pages"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab-dir", default=".darkwatch/lab")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--concurrency", "-c", type=int, default=8)
    args = ap.parse_args()
    lab = TorLab(args.lab_dir)
    started = False
    if not lab.status().get("running"):
        print("starting the lab...", file=sys.stderr)
        lab.up(progress=lambda m: print(m, file=sys.stderr))
        started = True
    try:
        st = LabState.load(lab.state_path)
        urls = page_urls(st.onion_url, args.n)
        raw(st.socks, urls[: args.concurrency], args.concurrency)  # the onion descriptor is cached
        rows = []
        t, ok = raw(st.socks, urls, args.concurrency)
        rows.append(("raw (ceiling)", ok, t))
        t, ok = handler(st.socks, urls, args.concurrency)
        rows.append(("darkwatch handler", ok, t))
        t, pages = crawl(lab.config_path, args.concurrency)
        rows.append(("darkwatch crawl (phpbb)", pages, t))
        ceiling = rows[0][1] / rows[0][2]
        print(f"N={args.n} concurrency={args.concurrency} socks={st.socks}")
        print(f"{'route':26} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'vs ceiling':>10}")
        for name, pages, secs in rows:
            rate = pages / secs if secs else 0.0
            print(f"{name:26} {pages:6d} {secs:8.2f} {rate:8.1f} {rate / ceiling:10.0%}")
    finally:
        if started:
            lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
