"""`darkwatch init`: a first run gets a strong key instead of a refusal it cannot act on."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess
import sys

import yaml

from crawler.netpolicy import free_ports
from tests.support.cli import REPO

NIR = "1 85 05 78 006 084 91"


def minimal_config(tmp_path):
    (port,) = free_ports(1)  # nothing listens: the crawl may fail, but only after the key check
    cfg = {"store": {"sqlite": str(tmp_path / "state" / "darkwatch.db")},
           "forums": [{"name": "loop", "engine": "phpbb",
                       "start_urls": [f"http://127.0.0.1:{port}/viewforum.php?f=2"],
                       "max_pages": 1, "timeout": 5}]}
    path = tmp_path / "darkwatch.yml"
    path.write_text(yaml.safe_dump(cfg))
    (tmp_path / "state").mkdir()
    return path


def no_key_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "DARKWATCH_FINGERPRINT_KEY"}


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "crawler", *args], cwd=REPO, env=env or no_key_env(),
                          capture_output=True, text=True, timeout=180)


def test_crawl_without_key_points_at_init(tmp_path):
    cfg = minimal_config(tmp_path)
    res = run("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 2, res.stderr
    assert "darkwatch init" in res.stderr and "Traceback" not in res.stderr


def test_init_creates_an_owner_only_key_that_every_command_uses(tmp_path):
    cfg = minimal_config(tmp_path)
    res = run("init", "--config", str(cfg))
    assert res.returncode == 0, res.stderr
    key_file = tmp_path / "state" / "fingerprint.key"
    assert str(key_file) in res.stdout and "Back it up" in res.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64 and int(key, 16)  # 256 random bits, hex
    assert key not in res.stdout + res.stderr  # the key itself is never printed

    fp = run("fingerprint", "--config", str(cfg), NIR)
    assert fp.returncode == 0, fp.stderr
    expected = hmac.new(key.encode(), b"185057800608491", hashlib.sha256).hexdigest()
    assert fp.stdout.strip() == expected

    # The crawl now passes the key check (it then fails on the dead forum, exit 1, not 2).
    crawl = run("crawl", "--config", str(cfg), "--direct", "-q")
    assert crawl.returncode == 1, crawl.stderr
    assert "fingerprint key" not in crawl.stderr

    again = run("init", "--config", str(cfg))
    assert again.returncode == 0 and "already exists" in again.stdout
    assert key_file.read_text().strip() == key  # never overwritten


def test_init_creates_nothing_when_a_key_is_configured(tmp_path):
    cfg = minimal_config(tmp_path)
    res = run("init", "--config", str(cfg), env={**no_key_env(), "DARKWATCH_FINGERPRINT_KEY": "x" * 32})
    assert res.returncode == 0 and "nothing to create" in res.stdout
    assert not (tmp_path / "state" / "fingerprint.key").exists()


def test_a_key_file_others_can_read_is_warned_about(tmp_path):
    cfg = minimal_config(tmp_path)
    assert run("init", "--config", str(cfg)).returncode == 0
    key_file = tmp_path / "state" / "fingerprint.key"
    key_file.chmod(0o644)
    fp = run("fingerprint", "--config", str(cfg), NIR)
    assert fp.returncode == 0 and "readable by other users" in fp.stderr
