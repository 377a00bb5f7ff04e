"""End-to-end fixtures, built from the same helpers as the suites that own them (no copies):

- ``tor_lab`` (tests/conftest.py, tests/support/tor_lab.py): private Tor network + the fixture
  forum as an onion service, one per session;
- ``es_node`` (tests/support/es.py, as in tests/es/conftest.py): a real Elasticsearch node, here
  on its own port (``DARKWATCH_E2E_ES_TEST_PORT``, default 9260) so it never clashes with the ES
  suite's 9250;
- ``smtp_server`` / ``webhook_server`` (tests/support/receivers.py): aiosmtpd and an HTTP webhook
  receiver on loopback. They are function-scoped in tests/conftest.py; the scenario here spans a
  module (one baseline crawl, one leak, one crawl, several tests reading the outcome), so the same
  receivers are exposed with module scope.
"""

from __future__ import annotations

import os

import pytest

from tests.support.es import es_node_session
from tests.support.receivers import smtp_receiver, webhook_receiver


@pytest.fixture(scope="session")
def es_node():
    """The ES suite's node, started with ``DARKWATCH_ES_TEST_PORT`` set to the e2e port.

    The variable is set only while the node starts, so other suites in the same session keep
    their own port. ``DARKWATCH_ES_URL`` (an external node) is honoured as there.
    """
    old = os.environ.get("DARKWATCH_ES_TEST_PORT")
    os.environ["DARKWATCH_ES_TEST_PORT"] = os.environ.get("DARKWATCH_E2E_ES_TEST_PORT", "9260")
    gen = es_node_session()
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
    with smtp_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def webhook_server():
    with webhook_receiver() as server:
        yield server
