"""Small request/response/session types shared by the fixture forum's skins and server.

Kept free of any server code so skins are pure functions of (content, request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass
class Request:
    method: str
    path: str  # without the skin prefix, e.g. "/viewtopic.php"
    query: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    host: str = ""  # the Host header (SMF builds absolute links from it)


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str = "text/html; charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int | None = None  # for streamed bodies
    delay: float = 0.0  # seconds to wait before answering (slow route)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"))

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status, b"", headers=[("Location", location)])


def page_count(n_items: int, per_page: int) -> int:
    return max(1, -(-n_items // per_page))


def qs(**params: object) -> str:
    return urlencode({k: v for k, v in params.items() if v is not None})


class Sessions:
    """Authenticated sessions keyed by a random id; ``expire_all`` logs everyone out."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._sessions: dict[str, str] = {}
        self.logins = 0

    def check(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username.encode(), self.username.encode()) and \
            hmac.compare_digest(password.encode(), self.password.encode())

    def create(self, username: str) -> str:
        sid = secrets.token_hex(16)
        with self._lock:
            self._sessions[sid] = username
            self.logins += 1
        return sid

    def user(self, sid: str | None) -> str | None:
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._sessions)
            self._sessions.clear()
        return n

    def token(self, *parts: str) -> str:
        """A form token bound to its parts (phpBB form_token, MyBB my_post_key)."""
        msg = "\x00".join(parts).encode()
        return hmac.new(self.secret, msg, hashlib.sha1).hexdigest()
