"""A forum's Tor identity: the SOCKS username/password that pins it to its own circuits.

Tor isolates streams by SOCKS credentials (``IsolateSOCKSAuth``, on by default), so
each forum gets its own token, and "new identity for this forum only" is a new token:
unlike NEWNYM it leaves other forums' circuits (and logged-in sessions) alone.
The token is random per run and never written to disk (JOBDIR pickles meta, not this).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

_ATTR = "_darkwatch_tor_identity"


class ForumIdentity:
    def __init__(self, forum: str, token: str | None = None) -> None:
        self.forum = forum
        self.token = token or secrets.token_hex(8)
        self.generation = 0
        self.rotated_at = 0.0

    def credentials(self) -> tuple[str, str]:
        return f"darkwatch-{self.forum}-{self.token}-{self.generation}", "x"

    def rotate(self) -> int:
        """Switch this forum to fresh circuits (new streams only; open ones finish)."""
        self.generation += 1
        self.rotated_at = time.monotonic()
        return self.generation


def identity_for(crawler: Any) -> ForumIdentity:
    """The one identity object of this crawler (shared by the handler and middlewares)."""
    ident = getattr(crawler, _ATTR, None)
    if ident is None:
        settings = crawler.settings
        ident = ForumIdentity(settings.get("DARKWATCH_TOR_FORUM") or "forum",
                              settings.get("DARKWATCH_TOR_ISOLATION") or None)
        setattr(crawler, _ATTR, ident)
    return ident
