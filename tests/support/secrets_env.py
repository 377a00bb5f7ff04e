"""Shared by the security tests: a crawl set-up whose every secret is known and searchable."""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from darkwatch_lab.forum import FixtureForum
from tests.support.cli import REPO

USER = "analyst"


@dataclass
class Secrets:
    forum_password: str = field(default_factory=lambda: "Fpw-" + secrets.token_hex(12))
    hook_token: str = field(default_factory=lambda: "hooktok" + secrets.token_hex(12))
    es_password: str = field(default_factory=lambda: "Espw-" + secrets.token_hex(12))
    fingerprint_key: str = field(default_factory=lambda: "fpk-" + secrets.token_hex(16))

    def env(self) -> dict[str, str]:
        return {"DW_FORUM_PASS": self.forum_password, "DW_HOOK_TOKEN": self.hook_token,
                "DW_ES_PASS": self.es_password, "DW_FP_KEY": self.fingerprint_key}

    def named(self) -> dict[str, str]:
        return {"forum password": self.forum_password, "channel token": self.hook_token,
                "Elasticsearch password": self.es_password,
                "fingerprint key": self.fingerprint_key}


def start_forum(password: str) -> FixtureForum:
    forum = FixtureForum(seed=1, skins=("phpbb", "mybb"), password=password)
    forum.start("127.0.0.1", 0)
    return forum


def forum_configs(forum: FixtureForum, faults: bool = True) -> list[dict]:
    base = forum.base_url
    login = {"phpbb": "/phpbb/ucp.php?mode=login", "mybb": "/mybb/member.php?action=login"}
    out = []
    for skin in ("phpbb", "mybb"):
        urls = [base + forum.board_page_path(skin, b) for b in forum.board_ids(private=True)]
        if faults and skin == "phpbb":
            # a board that does not exist: a 404, an error with its URL in the logs (the
            # fault board is not used: it also holds slow hostile pages that other tests own)
            urls.append(base + "/phpbb/viewforum.php?f=77")
        out.append({
            "name": f"sec-{skin}", "engine": skin, "delay": 0, "timeout": 20,
            "timezone": "Europe/Paris",
            "start_urls": urls,
            "auth": {"login": {"url": base + login[skin], "username": USER,
                               "password": "${DW_FORUM_PASS}"}},
        })
    return out


def write_secret_config(path: Path, forum: FixtureForum, hook_port: int, es_port: int,
                        faults: bool = True, **overrides) -> Path:
    """Secrets only as ${ENV} references, as the README tells users to write them."""
    data = path.parent
    cfg = {
        "store": {
            "sqlite": str(data / "darkwatch.db"),
            "elasticsearch": {"url": f"http://127.0.0.1:{es_port}", "username": "elastic",
                              "password": "${DW_ES_PASS}", "spool_dir": str(data / "spool"),
                              "request_timeout": 3, "retry_interval": 0, "max_retries": 0},
        },
        "rules": {"paths": [str(REPO / "rules")], "fingerprint_key": "${DW_FP_KEY}"},
        "alerts": {"channels": [f"json://127.0.0.1:{hook_port}/hook/${{DW_HOOK_TOKEN}}"],
                   "min_level": "low", "throttle": "1h"},
        "forums": forum_configs(forum, faults),
    }
    for key, value in overrides.items():
        cfg[key] = value
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def run_cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300,
            umask: int | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    full.pop("DARKWATCH_FINGERPRINT_KEY", None)
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True,
                          text=True, timeout=timeout, env=full, cwd=cwd, preexec_fn=preexec)


def sqlite_tables(path: Path) -> dict[str, str]:
    """Every table of a SQLite file as one text blob per table."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: "\n".join(repr(row) for row in db.execute(f'SELECT * FROM "{n}"'))
                for n in names}
    finally:
        db.close()


def session_values(forum: FixtureForum) -> list[str]:
    """Every session id the fixture handed out (cookie values), and mybb's derived cookie."""
    with forum.sessions._lock:
        sids = list(forum.sessions._sessions)
    return sids + [s[:16] for s in sids]
