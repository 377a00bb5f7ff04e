"""A real redis-server on loopback (Debian's), one per test; no skip if it is missing."""

from __future__ import annotations

import pytest

from crawler.lab.redis_server import RedisServer, free_port

__all__ = ["RedisServer", "free_port"]


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path)).start()
    try:
        yield server
    finally:
        server.stop()
