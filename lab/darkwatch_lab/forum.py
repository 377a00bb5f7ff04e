"""The fixture forum: one deterministic forum served in the markup of several engines.

In-process (tests)::

    with FixtureForum(seed=1) as forum:          # or forum.start() / forum.stop()
        base = forum.base_url                    # http://127.0.0.1:PORT
        forum.truth(engine="phpbb")              # what a correct crawler must extract

As a process (Tor lab, out-of-process tests)::

    python -m darkwatch_lab.forum --host 127.0.0.1 --port 8080 --seed 1 --skins phpbb,mybb

prints the base URL on stdout, then serves until SIGINT/SIGTERM. The JSON admin API under
``/__admin/`` (loopback clients only, never for an ``.onion`` Host) exposes truth, the
request log and mutations.

URL scheme (board ids 2, 3 public; 4 login-protected; 99 lab faults, never in truth):

- phpBB 3.3 ``/phpbb/`` (English) and ``/phpbb-fr/`` (French): ``index.php``,
  ``viewforum.php?f=B[&start=N]``, ``viewtopic.php?t=T[&start=N]``, ``viewtopic.php?p=P``,
  ``ucp.php?mode=login``.
- MyBB 1.8 ``/mybb/``: ``index.php``, ``forumdisplay.php?fid=B[&page=N]``,
  ``showthread.php?tid=T[&page=N]``, ``showthread.php?tid=T&action=lastpost`` (302),
  ``member.php?action=login`` / POST ``action=do_login``.
- SMF 2.1 ``/smf/``: ``index.php?board=B.START``, ``index.php?topic=T.START``,
  ``index.php?topic=T.msgP#new``, ``index.php?action=login`` / ``action=login2``.
- MyBB with a Russian or German interface ``/mybb-ru/``, ``/mybb-de/`` (same URLs as
  ``/mybb/``; dates "14.01.2021, 16:04", "Вчера, 15:04", "vor 4 Stunden"; see
  ``forum_mybb_i18n``), in the pack's zone unless ``mybb_i18n_tz`` is given.
- A ransomware leak site ``/leaksite/`` (``engine: custom``; see ``forum_leaksite``):
  ``index.php[?page=N]`` (victim list), ``victim.php?id=N``; its own victims, not the forum's.
- "Acme Board" ``/acme/`` (an engine no preset covers, for ``engine: custom``; see
  ``forum_acme``): ``forum/B[?page=N]``, ``topic/T[?page=N]``, ``auth/login?next=...``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from types import TracebackType

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_acme import AcmeSkin
from darkwatch_lab.forum_content import ANCHOR, FAULT_BOARD, PRIVATE_BOARD, ForumContent, Thread
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Request, Response, Sessions, page_count
from darkwatch_lab.forum_leaksite import LeakSiteSkin
from darkwatch_lab.forum_mybb import MybbSkin
from darkwatch_lab.forum_mybb_i18n import MybbI18nSkin
from darkwatch_lab.forum_phpbb import PhpbbSkin
from darkwatch_lab.forum_server import LabHTTPServer, ensure_loopback, serve_in_thread
from darkwatch_lab.forum_smf import SmfSkin

SKINS = ("phpbb", "phpbb-fr", "mybb", "smf", "acme", "mybb-ru", "mybb-de", "leaksite")
DEFAULT_SKINS = ("phpbb", "mybb")
DEFAULT_USER = "analyst"
DEFAULT_PASSWORD = "s3cret-lab"  # noqa: S105 - a lab fixture credential, documented


class FixtureForum:
    """A running (or ready to run) fixture forum; see the module docstring."""

    def __init__(self, seed: int = 1, threads_per_page: int = 10, posts_per_page: int = 10,
                 skins: tuple[str, ...] | list[str] = DEFAULT_SKINS, username: str = DEFAULT_USER,
                 password: str = DEFAULT_PASSWORD, mybb_tz: str = "Europe/Paris",
                 anchor: datetime = ANCHOR, big_board_threads: int = 34, retry_failures: int = 2,
                 slow_delay: float = 3.0, huge_bytes: int = 50 * 1024 * 1024, admin: bool = True,
                 phpbb_sid_urls: bool = False, latency: float = 0.0,
                 mybb_i18n_tz: str | None = None) -> None:
        unknown = [s for s in skins if s not in SKINS]
        if unknown:
            raise ValueError(f"unknown skin(s) {unknown}; choose from {', '.join(SKINS)}")
        self.seed = seed
        self.content = ForumContent(seed, anchor=anchor, big_board_threads=big_board_threads)
        self.sessions = Sessions(username, password)
        self.faults = Faults(retry_failures, slow_delay, huge_bytes)
        self.threads_per_page = threads_per_page
        self.posts_per_page = posts_per_page
        self.admin = admin
        self.latency = latency  # seconds added to every page: an onion service's round trips
        self.skins: dict[str, PhpbbSkin | MybbSkin | SmfSkin | AcmeSkin] = {}
        for name in skins:
            if name == "acme":
                self.skins[name] = AcmeSkin(self.content, self.sessions, self.faults, "/acme",
                                            threads_per_page, posts_per_page)
            elif name == "smf":
                self.skins[name] = SmfSkin(self.content, self.sessions, self.faults, "/smf",
                                           threads_per_page, posts_per_page)
            elif name == "leaksite":
                self.skins[name] = LeakSiteSkin(seed, "/leaksite", threads_per_page)
            elif name in ("mybb-ru", "mybb-de"):
                self.skins[name] = MybbI18nSkin(self.content, self.sessions, self.faults, f"/{name}",
                                                name[-2:], mybb_i18n_tz, threads_per_page, posts_per_page)
            elif name == "mybb":
                self.skins[name] = MybbSkin(self.content, self.sessions, self.faults, "/mybb", mybb_tz,
                                            threads_per_page, posts_per_page)
            else:
                self.skins[name] = PhpbbSkin(self.content, self.sessions, self.faults, f"/{name}",
                                             "fr" if name == "phpbb-fr" else "en", threads_per_page,
                                             posts_per_page, sid_urls=phpbb_sid_urls)
        # Local wall times (MyBB) in an hour repeated when clocks go back say nothing of which
        # occurrence they are: no post is put there, so the truth is readable from every page.
        self.content.keep_unambiguous([s.tz for s in self.skins.values() if hasattr(s, "tz")])
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str]] = []
        self._request_times: list[float] = []  # time.monotonic() of each logged request
        self._connections = 0
        self._server: LabHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        ensure_loopback(host)
        if self._server is not None:
            return self.base_url
        self._server = LabHTTPServer((host, port), self)
        h, p = self._server.server_address[:2]
        self.base_url = f"http://[{h}]:{p}" if ":" in h else f"http://{h}:{p}"
        self._thread = serve_in_thread(self._server)
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FixtureForum:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ request log
    def _log(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))
            self._request_times.append(time.monotonic())

    def _count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path_with_query) of every non-admin request, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_times(self) -> list[float]:
        """Arrival time (monotonic) of each entry of :attr:`requests` (rate-limit checks)."""
        with self._lock:
            return list(self._request_times)

    @property
    def connections(self) -> int:
        """TCP connections accepted since start (admin calls included)."""
        with self._lock:
            return self._connections

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._request_times.clear()
        self.faults.reset()

    def expire_sessions(self) -> int:
        """Log every session out (the crawler must notice the login wall again)."""
        return self.sessions.expire_all()

    # ------------------------------------------------------------------ routing
    def _route(self, req: Request) -> Response:
        resp = self._route_page(req)
        if self.latency:
            resp.delay += self.latency
        return resp

    def _route_page(self, req: Request) -> Response:
        for name, skin in self.skins.items():
            prefix = f"/{name}"
            if req.path == prefix:
                return Response.redirect(f"{prefix}/index.php", 301)
            if req.path.startswith(prefix + "/"):
                req.path = req.path[len(prefix):]
                return skin.handle(req)
        if req.path in ("/", "/index.html"):
            links = "".join(f'<li><a href="/{n}/index.php">{n}</a></li>' for n in self.skins)
            return Response.html(f"<!DOCTYPE html><html><head><title>darkwatch lab</title></head><body>"
                                 f"<h1>darkwatch lab forums</h1><ul>{links}</ul></body></html>")
        return Response.html("<html><body><h1>404 Not Found</h1></body></html>", 404)

    # ------------------------------------------------------------------ mutations
    def add_post(self, thread_id: int, author: str, text: str, quote_of: int | str | None = None) -> str:
        """Append a post (published now, whole minute) and return its id as a string."""
        q = int(quote_of) if quote_of is not None else None
        return str(self.content.add_post(int(thread_id), author, text, q))

    def add_thread(self, board_id: int, title: str, author: str, text: str) -> int:
        return self.content.add_thread(int(board_id), title, author, text)

    def edit_post(self, post_id: int | str, new_text: str) -> None:
        self.content.edit_post(int(post_id), new_text)

    # ------------------------------------------------------------------ ground truth
    def truth(self, engine: str | None = None, private: bool = True) -> list[dict]:
        """One dict per (skin, post): exactly what a correct crawler extracts.

        ``engine`` restricts to one skin; ``private=False`` drops the login-protected
        board (``PRIVATE_BOARD``). The fault board is never part of the truth.
        """
        if self.base_url is None:
            raise RuntimeError("truth() needs the absolute URLs: start() the forum first")
        out = []
        with self.content.lock:
            for name, skin in self.skins.items():
                if engine is not None and name != engine:
                    continue
                if isinstance(skin, LeakSiteSkin):  # victims, not the forum's posts
                    out.extend(skin.truth(self.base_url))
                    continue
                for board in self.content.boards.values():
                    if board.board_id == FAULT_BOARD or (board.private and not private):
                        continue
                    for th in self.content.board_threads(board.board_id):
                        out.extend(self._thread_truth(name, skin, th))
        return out

    def _thread_truth(self, name: str, skin: PhpbbSkin | MybbSkin | SmfSkin, th: Thread) -> list[dict]:
        url = self.base_url + skin.thread_url(th.tid)
        return [{
            "engine": name,
            "board_id": th.board_id,
            "thread_id": th.tid,
            "thread_url": url,
            "thread_title": th.title,
            "post_id": str(p.pid),
            "author": p.author.name,
            "published": p.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": p.text,
            "quoted_text": ft.collapse(p.quote_text) if p.quote_of is not None else "",
        } for p in th.posts]

    def valid_nirs(self) -> list[str]:
        """Normalised 15-character NIRs (valid key) present in post bodies, sorted."""
        found = set()
        with self.content.lock:
            texts = [p.text for p in self.content.posts.values()]
        for text in texts:
            for m in ft.NIR_LIKE.finditer(text):
                norm = ft.normalise_nir(m.group(0))
                if norm and ft.nir_valid(norm):
                    found.add(norm)
        return sorted(found)

    def decoy_nirs(self) -> list[str]:
        """15-digit NIR look-alikes with a wrong key that appear in posts (must not match)."""
        return sorted(self.content.decoys)

    # ------------------------------------------------------------------ URL helpers for tests
    def skin(self, name: str) -> PhpbbSkin | MybbSkin | SmfSkin:
        return self.skins[name]

    def thread_pages(self, skin: str, thread_id: int) -> int:
        return page_count(len(self.content.threads[int(thread_id)].posts), self.posts_per_page)

    def thread_page_path(self, skin: str, thread_id: int, page: int) -> str:
        """Path+query of a thread page as the skin's pagination links it (page is 1-based)."""
        return self.skins[skin].thread_page_url(int(thread_id), page)

    def last_page_path(self, skin: str, thread_id: int) -> str:
        return self.thread_page_path(skin, thread_id, self.thread_pages(skin, thread_id))

    def board_pages(self, skin: str, board_id: int) -> int:
        ths = self.content.board_threads(board_id)
        if skin.startswith("phpbb"):
            ths = [t for t in ths if t.kind != "announce"]
        return page_count(len(ths), self.threads_per_page)

    def board_page_path(self, skin: str, board_id: int, page: int = 1) -> str:
        return self.skins[skin].board_page_url(board_id, page)

    def board_ids(self, private: bool = True) -> list[int]:
        return [b for b, board in self.content.boards.items()
                if b != FAULT_BOARD and (private or not board.private)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m darkwatch_lab.forum", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free ephemeral port)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skins", default=",".join(DEFAULT_SKINS), help=f"comma list of {', '.join(SKINS)}")
    ap.add_argument("--threads-per-page", type=int, default=10)
    ap.add_argument("--posts-per-page", type=int, default=10)
    ap.add_argument("--username", default=DEFAULT_USER)
    ap.add_argument("--password", default=DEFAULT_PASSWORD)
    ap.add_argument("--mybb-tz", default="Europe/Paris")
    ap.add_argument("--slow-delay", type=float, default=3.0)
    ap.add_argument("--latency", type=float, default=0.0,
                    help="seconds added to every page (imitates an onion service's latency)")
    ap.add_argument("--no-admin", action="store_true", help="disable the /__admin/ JSON API")
    ap.add_argument("--phpbb-sid-urls", action="store_true",
                    help="phpBB links carry sid= until the session cookie comes back (as real phpBB)")
    args = ap.parse_args(argv)
    try:
        forum = FixtureForum(seed=args.seed, threads_per_page=args.threads_per_page,
                             posts_per_page=args.posts_per_page,
                             skins=tuple(s.strip() for s in args.skins.split(",") if s.strip()),
                             username=args.username, password=args.password, mybb_tz=args.mybb_tz,
                             slow_delay=args.slow_delay, admin=not args.no_admin,
                             phpbb_sid_urls=args.phpbb_sid_urls, latency=args.latency)
        base = forum.start(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(base, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        forum.stop()
    return 0


__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USER", "FAULT_BOARD", "PRIVATE_BOARD", "FixtureForum", "main"]

if __name__ == "__main__":
    sys.exit(main())
