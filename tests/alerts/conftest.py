"""Fixtures of the notification tests (``smtp_server`` and ``webhook_server``, used by other
suites too, are in tests/conftest.py)."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def blackhole():
    """A TCP port that accepts connections (kernel backlog) and never answers: a hung channel."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()
