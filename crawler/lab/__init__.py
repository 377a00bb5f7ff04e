"""Lab tooling: the fixture forum (and, from the Tor issue, the private Tor network)."""

from crawler.lab.forum import DEFAULT_PASSWORD, DEFAULT_USER, FAULT_BOARD, PRIVATE_BOARD, FixtureForum

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USER", "FAULT_BOARD", "PRIVATE_BOARD", "FixtureForum"]
