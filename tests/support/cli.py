"""Run the real CLI as users do, write configs, export what a crawl stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def darkwatch(*args: str, env: dict | None = None, timeout: float = 300,
              cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI exactly as users do, in a child process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True,
        timeout=timeout, env=full_env, cwd=cwd or REPO,
    )


def write_config(path: Path, forums: list[dict], **sections) -> Path:
    cfg = {"store": {"sqlite": str(path.parent / "darkwatch.db")},
           "rules": {"enabled": False}, "forums": forums}
    cfg.update(sections)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def export(config: Path, *extra: str) -> list[dict]:
    res = darkwatch("posts", "export", "--config", str(config), "--format", "jsonl", *extra)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
