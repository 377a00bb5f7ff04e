"""Session-wide fixtures and the fixtures several suites share (helpers: tests/support).

- ``tor_lab``: one private Tor network for every suite that needs it (tor, e2e, security);
- ``smtp_server`` / ``webhook_server``: loopback notification receivers (alerts, crawl,
  incidents; e2e re-exposes them with module scope);
- ``redis_server``: a real redis-server on loopback (Debian's), one per test; no skip if it
  is missing (distributed, incidents).
"""

import signal

import pytest

from darkwatch_lab.redis_server import RedisServer
from tests.support.receivers import smtp_receiver, webhook_receiver
from tests.support.tor_lab import run_tor_lab


def pytest_configure(config: pytest.Config) -> None:
    """A run started in the background without job control (``pytest &`` in a script) ignores
    SIGINT, and every process a test starts would inherit that: the Ctrl-C tests would see a
    scan or a daemon that cannot be interrupted. Put the default back, as on a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def tor_lab(tmp_path_factory: pytest.TempPathFactory):
    yield from run_tor_lab(tmp_path_factory)


@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1: yields (port, inbox of {'from','to','raw','body'})."""
    with smtp_receiver() as server:
        yield server


@pytest.fixture
def webhook_server():
    """A stdlib HTTP server that records JSON POSTs: yields (port, inbox of {'path','json','raw'})."""
    with webhook_receiver() as server:
        yield server


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path)).start()
    try:
        yield server
    finally:
        server.stop()
