"""Fail closed: with Tor's SOCKS port dead nothing reaches the destination, and the error reads well.

No lab needed: a dead port and a loopback witness server are enough (and real).
"""

from __future__ import annotations

import socket

import pytest

from crawler.netpolicy import free_ports
from tests.support.cli import darkwatch, write_config
from tests.support.servers import CountingServer
from tests.support.tor_fetch import fetch_many

pytestmark = pytest.mark.integration


@pytest.fixture
def witness():
    srv = CountingServer().start()
    yield srv
    srv.stop()


def dead_port() -> int:
    (port,) = free_ports(1)
    with socket.socket() as s:  # nothing listens there
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_handler_never_connects_directly(witness):
    socks = f"127.0.0.1:{dead_port()}"
    out = fetch_many(socks, {"forum": [f"http://127.0.0.1:{witness.port}/x",
                                       f"http://127.0.0.1:{witness.port}/y"]}, retries=2)
    assert witness.connections == 0
    assert [r["error"] for r in out["results"]] == ["tor-unreachable", "tor-unreachable"], out
    reason = out["results"][0]["reason"]
    assert f"cannot reach Tor's SOCKS port {socks}" in reason and "Nothing was sent directly" in reason


def test_handler_without_socks_setting_refuses(witness):
    out = fetch_many("", {"forum": [f"http://127.0.0.1:{witness.port}/x"]})
    (res,) = out["results"]
    assert res["error"] == "tor-no-route", res
    assert "never connects directly" in res["reason"]
    assert witness.connections == 0


def test_crawl_without_direct_makes_zero_connections(witness, tmp_path):
    """`darkwatch crawl` of a loopback forum without --direct and Tor down: exit 3, no traffic."""
    port = dead_port()
    forum = {"name": "loop", "engine": "phpbb",
             "start_urls": [f"http://127.0.0.1:{witness.port}/viewforum.php?f=2"]}
    cfg = write_config(tmp_path / "darkwatch.yml", [forum],
                       tor={"mode": "system", "socks": f"127.0.0.1:{port}",
                            "control": f"127.0.0.1:{port}"})
    res = darkwatch("crawl", "--config", str(cfg), "-q", timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "Tor unavailable" in res.stderr and f"127.0.0.1:{port}" in res.stderr, res.stderr
    assert witness.connections == 0


def test_crawl_socks_dies_after_bootstrap_check(witness, tmp_path):
    """Control port fine is not needed: no control, SOCKS dead -> exit 3 before any request."""
    port = dead_port()
    forum = {"name": "loop", "engine": "phpbb",
             "start_urls": [f"http://127.0.0.1:{witness.port}/viewforum.php?f=2"]}
    cfg = write_config(tmp_path / "darkwatch.yml", [forum],
                       tor={"mode": "system", "socks": f"127.0.0.1:{port}", "control": None})
    res = darkwatch("crawl", "--config", str(cfg), "-q", timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    assert f"cannot reach Tor's SOCKS port 127.0.0.1:{port}" in res.stderr
    assert witness.connections == 0


def test_silent_control_port_fails_fast_instead_of_hanging(witness, tmp_path):
    """A control port that accepts and never answers (a wrong port, a hung tor) is exit 3, not a
    crawl that waits for ever (stem has no timeout on the PROTOCOLINFO reply)."""
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # accepted, never answered
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        port = silent.getsockname()[1]
        forum = {"name": "loop", "engine": "phpbb",
                 "start_urls": [f"http://127.0.0.1:{witness.port}/viewforum.php?f=2"]}
        cfg = write_config(tmp_path / "darkwatch.yml", [forum],
                           tor={"mode": "system", "socks": f"127.0.0.1:{port}",
                                "control": f"127.0.0.1:{port}"})
        res = darkwatch("crawl", "--config", str(cfg), "-q", timeout=120)
    finally:
        stop.set()
        t.join(5)
        for c in held:
            c.close()
        silent.close()
    assert res.returncode == 3, res.stdout + res.stderr
    assert "accepted the connection but did not answer" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert witness.connections == 0
