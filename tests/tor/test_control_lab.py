"""stem control against the lab: attach, bootstrap wait, `darkwatch tor status`, launch mode."""

from __future__ import annotations

import pytest
import yaml

from crawler.config.tor import TorConfig
from crawler.netpolicy import free_ports
from crawler.tor.control import TorUnavailable, ensure_tor_ready
from tests.support.cli import darkwatch
from tests.support.tor_fetch import fetch_many

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_attach_to_lab_client(tor_lab):
    said: list[str] = []
    cfg = TorConfig(mode="system", socks=tor_lab.state.socks, control=tor_lab.state.control)
    session = ensure_tor_ready(cfg, said.append)
    assert session.socks == tor_lab.state.socks
    assert session.version.startswith("0.4.")
    assert any("bootstrapped 100%" in s for s in said), said
    session.close()  # attached: leaves the lab's tor alone
    assert tor_lab.lab.status()["running"] is True


def test_attach_errors_are_readable():
    (port,) = free_ports(1)
    cfg = TorConfig(mode="system", socks=f"127.0.0.1:{port}", control=f"127.0.0.1:{port}")
    with pytest.raises(TorUnavailable, match=f"cannot reach Tor's control port 127.0.0.1:{port}"):
        ensure_tor_ready(cfg)
    cfg = TorConfig(mode="system", socks=f"127.0.0.1:{port}", control=None)
    with pytest.raises(TorUnavailable, match="cannot reach Tor's SOCKS port"):
        ensure_tor_ready(cfg)
    cfg = TorConfig(mode="launch", tor_binary="tor-does-not-exist")
    with pytest.raises(TorUnavailable, match="apt-get install -y tor"):
        ensure_tor_ready(cfg)


def test_cookie_auth_wins_over_a_stale_password(tor_lab):
    """The lab's control port is cookie-only: a leftover password must not cause a false alarm."""
    cfg = TorConfig(mode="system", socks=tor_lab.state.socks, control=tor_lab.state.control,
                    password="wrong")
    session = ensure_tor_ready(cfg)
    assert session.version


def test_tor_status_cli_against_lab(tor_lab):
    res = darkwatch("tor", "status", "--config", str(tor_lab.config),
                    "--url", tor_lab.echo_url + "/status-check", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bootstrap:  100%" in res.stdout
    assert "version:    0.4." in res.stdout
    assert "test fetch: HTTP 200" in res.stdout
    assert any(r["path"] == "/status-check" for r in tor_lab.echo.requests)


def test_tor_status_cli_reports_dead_tor(tmp_path):
    (port,) = free_ports(1)
    cfg = tmp_path / "c.yml"
    cfg.write_text(yaml.safe_dump({"tor": {"socks": f"127.0.0.1:{port}",
                                           "control": f"127.0.0.1:{port}"}}))
    res = darkwatch("tor", "status", "--config", str(cfg), timeout=60)
    assert res.returncode == 3
    assert "cannot reach Tor's control port" in res.stdout
    assert "cannot reach Tor's SOCKS port" in res.stdout


def test_lab_config_is_valid_and_points_at_the_onion(tor_lab):
    from crawler.config import load_config

    cfg = load_config(str(tor_lab.config))
    assert cfg.tor.mode == "system" and cfg.tor.socks == tor_lab.state.socks
    assert {f.engine for f in cfg.forums} == {"phpbb", "mybb"}
    assert all(tor_lab.onion in f.start_urls[0] for f in cfg.forums)


def test_launch_mode_joins_the_lab_and_fetches_the_onion(tor_lab):
    said: list[str] = []
    cfg = TorConfig(mode="launch", torrc=tor_lab.lab.client_torrc_options(), bootstrap_timeout=120)
    session = ensure_tor_ready(cfg, said.append)
    try:
        assert session.process is not None and session.process.poll() is None
        out = fetch_many(session.socks, {"one": [tor_lab.echo_url + "/launched"]}, timeout=90,
                         retries=2)
        assert out["results"][0].get("status") == 200, out
    finally:
        pid, data_dir = session.process.pid, session.data_dir
        session.close()
    import os

    assert session.process is None
    assert not os.path.exists(f"/proc/{pid}"), "launched tor still running after close()"
    assert not os.path.exists(data_dir)


def test_launch_mode_restarts_a_killed_tor(tor_lab):
    import os
    import signal
    import time

    cfg = TorConfig(mode="launch", torrc=tor_lab.lab.client_torrc_options(), bootstrap_timeout=120)
    session = ensure_tor_ready(cfg)
    try:
        first = session.process.pid
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (session.restarts == 0 or session.process.pid == first):
            time.sleep(0.5)
        assert session.restarts == 1 and session.process.pid != first
        out = fetch_many(session.socks, {"one": [tor_lab.echo_url + "/after-restart"]}, timeout=90,
                         retries=3)
        assert out["results"][0].get("status") == 200, out
    finally:
        session.close()
