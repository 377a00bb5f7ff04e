"""The real Tor download handler (Scrapy, own reactor) run in a child process."""

from __future__ import annotations

import json
import subprocess
import sys


def fetch_many(socks: str, groups: dict[str, list[str]], timeout: float = 60,
               retries: int = 0, concurrency: int = 4, *extra: str) -> dict:
    """Run the real Tor download handler (Scrapy, own reactor) in a child process."""
    argv = [sys.executable, "-m", "crawler.tor.fetch_many", "--socks", socks,
            "--timeout", str(timeout), "--retries", str(retries),
            "--concurrency", str(concurrency), *extra]
    for name, urls in groups.items():
        argv += ["--group", name, *urls]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 3 + 60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])
