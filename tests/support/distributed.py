"""Scale-out test runs: `darkwatch worker` processes and a distributed coordinator, as children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.cli import REPO

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "DW_PASS": "s3cret-lab"}


def start_worker(url: str, cfg: Path, wid: str, log: Path, direct: bool = True) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "worker", url, "-c", str(cfg),
         *(["--direct"] if direct else []), "--id", wid, "--exit-when-idle", "3"],
        cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=log.open("w"))


@contextmanager
def worker_pool(url: str, cfg: Path, logs: Path, ids: tuple[str, ...] = ("w1", "w2"),
                direct: bool = True) -> Iterator[list[subprocess.Popen]]:
    """Workers for one round; on a clean exit of the block each must have exited 0 (idle)."""
    procs = [start_worker(url, cfg, wid, logs / f"{wid}.log", direct) for wid in ids]
    try:
        yield procs
        for w in procs:
            if w.returncode is None:
                assert w.wait(60) == 0
            else:
                assert w.returncode in (0, -signal.SIGKILL)
    finally:
        for w in procs:
            if w.poll() is None:
                w.kill()


def finish(coord: subprocess.Popen) -> tuple[str, str]:
    out, err = coord.communicate(timeout=240)
    assert coord.returncode == 0, out + err
    return out, err


def coordinate(url: str, cfg: Path, report: Path, timeout: float = 240) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--distributed", url, "-c", str(cfg),
         "--direct", "--report", str(report), "--round-timeout", "200"],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
