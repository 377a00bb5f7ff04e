"""A distributed round makes the same pre-run checks as a local crawl, before reaching Redis."""

from __future__ import annotations

import pytest

from crawler.netpolicy import free_ports
from tests.support.cli import darkwatch, write_config


@pytest.fixture
def dead_redis() -> str:
    (port,) = free_ports(1)  # nothing listens: reaching Redis would be exit 5, not 2
    return f"redis://127.0.0.1:{port}/0"


def forum(**extra) -> dict:
    (port,) = free_ports(1)
    return {"name": "loop", "engine": "phpbb",
            "start_urls": [f"http://127.0.0.1:{port}/viewforum.php?f=2"], **extra}


def test_invalid_alert_channel_refuses_the_round(tmp_path, dead_redis):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum()],
                       alerts={"channels": ["nosuchscheme://soc"]})
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "--distributed", dead_redis,
                    env={"DARKWATCH_REDIS_WAIT": "1"}, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "invalid alert channel" in res.stderr and "Traceback" not in res.stderr


def test_direct_round_refuses_a_non_loopback_login_url(tmp_path, dead_redis):
    login = {"url": "http://example.org/login", "username": "u", "password": "p"}
    cfg = write_config(tmp_path / "darkwatch.yml", [forum(auth={"login": login})])
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "--distributed", dead_redis,
                    env={"DARKWATCH_REDIS_WAIT": "1"}, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "forum loop" in res.stderr and "Traceback" not in res.stderr
