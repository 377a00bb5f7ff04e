"""End-to-end fixtures, reused by import from the suites that own them (no copies):

- ``tor_lab`` (tests/tor/lab_fixture.py, registered once in tests/conftest.py): private Tor
  network + the fixture forum as an onion service;
- ``es_node`` (tests/es/conftest.py): a real Elasticsearch node, here on its own port
  (``DARKWATCH_E2E_ES_TEST_PORT``, default 9260) so it never clashes with the ES suite's 9250;
- ``smtp_server`` / ``webhook_server`` (tests/alerts/conftest.py): aiosmtpd and an HTTP webhook
  receiver on loopback. They are function-scoped there; the scenario here spans a module (one
  baseline crawl, one leak, one crawl, several tests reading the outcome), so the same fixture
  functions are re-exposed with module scope.
"""

from __future__ import annotations

import os

import pytest

from tests.alerts import conftest as _alerts
from tests.es import conftest as _es

E2E_ES_PORT = os.environ.get("DARKWATCH_E2E_ES_TEST_PORT", "9260")


def _unwrap(fixture):
    """The plain generator function behind a pytest fixture defined in another conftest."""
    return fixture.__wrapped__


@pytest.fixture(scope="session")
def es_node():
    """tests/es/conftest.py's node, started with ``DARKWATCH_ES_TEST_PORT`` set to the e2e port.

    The variable is set only while the node starts, so other suites in the same session keep
    their own port. ``DARKWATCH_ES_URL`` (an external node) is honoured as there.
    """
    old = os.environ.get("DARKWATCH_ES_TEST_PORT")
    os.environ["DARKWATCH_ES_TEST_PORT"] = E2E_ES_PORT
    gen = _unwrap(_es.es_node)()
    try:
        node = next(gen)
    finally:
        if old is None:
            os.environ.pop("DARKWATCH_ES_TEST_PORT", None)
        else:
            os.environ["DARKWATCH_ES_TEST_PORT"] = old
    try:
        yield node
    finally:
        next(gen, None)  # runs the original teardown (stops the node it started)


@pytest.fixture(scope="module")
def smtp_server():
    yield from _unwrap(_alerts.smtp_server)()


@pytest.fixture(scope="module")
def webhook_server():
    yield from _unwrap(_alerts.webhook_server)()
