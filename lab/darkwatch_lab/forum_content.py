"""The fixture forum's content: a deterministic model (boards, threads, posts, users).

Skins render this one model, so every engine serves the SAME posts and the ground truth
is computed from the model, never scraped back from our own HTML. Generation is driven
by ``random.Random(seed)`` only, so a seed always yields the same forum.

Post and thread ids are assigned in chronological order across the whole forum, as real
engines do (auto-increment columns), which makes "last post id" markers meaningful.

A skin that shows local wall times (MyBB) cannot show a time in the hour repeated when clocks
go back without ambiguity: the page itself does not say which of the two it is. The content
keeps every post out of those hours for the zones its skins render in
(:meth:`ForumContent.keep_unambiguous`), so the truth is always readable from the page.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_faults import FAULTS

ANCHOR = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)  # "now" of the generated history
PRIVATE_BOARD = 4
FAULT_BOARD = 99


@dataclass
class User:
    uid: int
    name: str
    rank: str = "Member"
    colour: str = ""  # phpBB group colour (admins/mods): rendered as username-coloured
    signature: str = ""
    joined: datetime = ANCHOR


@dataclass
class Post:
    pid: int
    tid: int
    author: User
    published: datetime
    paragraphs: list[str]  # plain text; rendered with <br />; inline emphasis per paragraph
    quote_of: Post | None = None
    quote_text: str = ""  # the quoted excerpt (plain text)
    edit_count: int = 0
    edited_at: datetime | None = None

    @property
    def text(self) -> str:
        return ft.collapse(" ".join(self.paragraphs))


@dataclass
class Thread:
    tid: int
    board_id: int
    title: str
    kind: str = "normal"  # normal | sticky | announce
    posts: list[Post] = field(default_factory=list)
    views: int = 0
    fault: str = ""  # lab fault behaviour (FAULT_BOARD only)

    @property
    def last(self) -> Post:
        return self.posts[-1]


@dataclass
class Board:
    board_id: int
    name: str
    description: str
    private: bool = False
    category: str = "Marché"
    threads: list[Thread] = field(default_factory=list)


def _repeated(when: datetime, zone: tzinfo) -> bool:
    """Is the local wall time of ``when`` in ``zone`` one that happens twice (clocks go back)?"""
    wall = when.astimezone(zone).replace(tzinfo=None)
    return wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()


def minute(dt: datetime) -> datetime:
    """Engines like MyBB show minutes only: keep every timestamp on a whole minute."""
    return dt.replace(second=0, microsecond=0)


class ForumContent:
    """Thread-safe store of the forum model with mutation helpers used by tests."""

    def __init__(self, seed: int = 1, anchor: datetime = ANCHOR, big_board_threads: int = 34) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.anchor = anchor
        self.users: dict[str, User] = {}
        self.boards: dict[int, Board] = {}
        self.threads: dict[int, Thread] = {}
        self.posts: dict[int, Post] = {}
        self.nirs: set[str] = set()
        self.decoys: set[str] = set()
        self._next_pid = 1
        self._next_tid = 1
        self._wall_zones: list[tzinfo] = []
        self._generate(big_board_threads)

    # ------------------------------------------------------------------ wall-clock zones
    def keep_unambiguous(self, zones: list[tzinfo]) -> None:
        """Move every post (now and later) out of the hours repeated in ``zones`` when clocks
        go back, to the first minute after them: the order of posts is kept."""
        with self.lock:
            self._wall_zones = list(zones)
            for post in self.posts.values():
                post.published = self._unambiguous(post.published)
                if post.edited_at is not None:
                    post.edited_at = self._unambiguous(post.edited_at)

    def _unambiguous(self, when: datetime) -> datetime:
        for _ in range(180):  # a repeated hour is 60 minutes (30 in a few zones)
            if not any(_repeated(when, z) for z in self._wall_zones):
                return when
            when += timedelta(minutes=1)
        return when

    # ------------------------------------------------------------------ generation
    def _user(self, name: str) -> User:
        if name not in self.users:
            uid = len(self.users) + 2  # phpBB: 1 is ANONYMOUS
            sig = ""
            if self.rng.random() < 0.45:
                sig = self.rng.choice(ft.SIGNATURES)
            joined = minute(self.anchor - timedelta(days=self.rng.randint(60, 900)))
            self.users[name] = User(uid, name, signature=sig, joined=joined)
        return self.users[name]

    def _generate(self, big: int) -> None:
        rng = self.rng
        admin = self._user("Sk0rpi0n")
        admin.rank, admin.colour = "Administrator", "AA0000"
        admin.signature = "Escrow only. Règles : lisez l'annonce avant de poster."
        mod = self._user("m0d_Lutece")
        mod.rank, mod.colour = "Moderator", "00AA00"
        mod.signature = ""
        for name in ft.USERNAMES:
            self._user(name)
        self.boards = {
            2: Board(2, "Bases de données & leaks", "Fichiers, dumps, combos. Échantillon obligatoire."),
            3: Board(3, "Discussions générales", "Blabla, OPSEC, questions techniques.",
                     category="Communauté"),
            PRIVATE_BOARD: Board(PRIVATE_BOARD, "VIP — accès vérifié", "Réservé aux vendeurs vérifiés.",
                                 private=True),
            FAULT_BOARD: Board(FAULT_BOARD, "Lab faults", "Robustness routes (not real content).",
                               category="Lab"),
        }
        specs: list[tuple[int, str, int, str]] = []  # (board, kind, n_posts, topic)
        specs.append((2, "announce", 2, "rules"))
        specs.append((2, "sticky", 3, "escrow"))
        for i in range(big):
            n = rng.choice([1, 2, 3, 4, 5, 6, 8]) if i % 6 else rng.randint(18, 34)
            specs.append((2, "normal", n, "leak" if rng.random() < 0.6 else "benign"))
        specs.append((3, "announce", 1, "rules"))
        for i in range(9):
            specs.append((3, "normal", rng.randint(12, 26) if i == 2 else rng.randint(1, 7), "benign"))
        for i in range(4):
            specs.append((PRIVATE_BOARD, "normal", rng.randint(2, 13) if i else 14, "leak"))
        # Build threads with start times spread over ~60 days before the anchor.
        drafts = []
        for board_id, kind, n_posts, topic in specs:
            start = self.anchor - timedelta(minutes=rng.randint(60 * 24 * 2, 60 * 24 * 60))
            drafts.append((start, board_id, kind, n_posts, topic))
        drafts.sort(key=lambda d: d[0])
        events: list[tuple[datetime, Thread, User, list[str]]] = []
        for start, board_id, kind, n_posts, topic in drafts:
            title = ft.title(rng, topic, kind)
            th = Thread(self._next_tid, board_id, title, kind=kind, views=rng.randint(20, 4000))
            self._next_tid += 1
            self.threads[th.tid] = th
            self.boards[board_id].threads.append(th)
            t = start
            users = list(self.users.values())
            for k in range(n_posts):
                author = admin if (kind != "normal" and k == 0) else rng.choice(users)
                follow = rng.choice([topic, "benign", "reply"]) if topic in ("leak", "benign") else "reply"
                paras = ft.body(rng, topic if k == 0 else follow, self)
                events.append((minute(t), th, author, paras))
                t = min(t + timedelta(minutes=rng.randint(3, 60 * 30)), self.anchor - timedelta(minutes=5))
        events.sort(key=lambda e: (e[0], e[1].tid))
        for when, th, author, paras in events:
            quote_of = None
            if th.posts and rng.random() < 0.22:
                quote_of = rng.choice(th.posts)
            post = self._append(th, author, paras, when, quote_of)
            if rng.random() < 0.07:
                post.edit_count = rng.randint(1, 3)
                post.edited_at = minute(when + timedelta(minutes=rng.randint(2, 300)))
        self._fault_threads(admin)

    def _fault_threads(self, admin: User) -> None:
        board = self.boards[FAULT_BOARD]
        for i, fault in enumerate(FAULTS):
            tid = 9001 + i
            th = Thread(tid, FAULT_BOARD, f"Fault: {fault}", fault=fault)
            n = 25 if fault in ("selfnext", "cycle") else 1
            for k in range(n):
                pid = 900000 + i * 100 + k
                p = Post(pid, tid, admin, minute(self.anchor - timedelta(days=1, minutes=n - k)),
                         [f"fault:{fault} post:{k + 1}"])  # <= 3 words: never emphasised
                th.posts.append(p)
                self.posts[pid] = p
            self.threads[tid] = th
            board.threads.append(th)

    def _append(self, th: Thread, author: User, paras: list[str], when: datetime,
                quote_of: Post | None) -> Post:
        post = Post(self._next_pid, th.tid, author, self._unambiguous(when), paras)
        self._next_pid += 1
        if quote_of is not None:
            post.quote_of = quote_of
            post.quote_text = ft.excerpt(quote_of.text)
        th.posts.append(post)
        self.posts[post.pid] = post
        return post

    # ------------------------------------------------------------------ queries
    def board_threads(self, board_id: int) -> list[Thread]:
        """Engine order: announcements, stickies, then by last post time, newest first."""
        rank = {"announce": 0, "sticky": 1, "normal": 2}
        with self.lock:
            ths = list(self.boards[board_id].threads)
        return sorted(ths, key=lambda t: (rank[t.kind], -t.last.published.timestamp(), -t.last.pid))

    def thread(self, tid: int) -> Thread | None:
        return self.threads.get(tid)

    # ------------------------------------------------------------------ mutations
    def add_post(self, thread_id: int, author: str, text: str, quote_of: int | None = None,
                 when: datetime | None = None) -> int:
        with self.lock:
            th = self.threads.get(int(thread_id))
            if th is None or th.board_id == FAULT_BOARD:
                raise KeyError(f"no thread {thread_id}")
            q = self.posts.get(int(quote_of)) if quote_of is not None else None
            if quote_of is not None and q is None:
                raise KeyError(f"no post {quote_of} to quote")
            when = minute(when or datetime.now(UTC))
            if when < th.last.published:
                when = th.last.published
            paras = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()] or [text]
            self._scan(" ".join(paras))
            return self._append(th, self._user(author), paras, when, q).pid

    def add_thread(self, board_id: int, title: str, author: str, text: str,
                   when: datetime | None = None) -> int:
        with self.lock:
            board = self.boards.get(int(board_id))
            if board is None or board.board_id == FAULT_BOARD:
                raise KeyError(f"no board {board_id}")
            th = Thread(self._next_tid, board.board_id, title)
            self._next_tid += 1
            paras = [p for p in text.split("\n") if p.strip()] or [text]
            self._scan(" ".join(paras))
            self._append(th, self._user(author), paras, minute(when or datetime.now(UTC)), None)
            self.threads[th.tid] = th
            board.threads.append(th)
            return th.tid

    def edit_post(self, post_id: int, new_text: str, when: datetime | None = None) -> None:
        with self.lock:
            post = self.posts.get(int(post_id))
            if post is None or post.pid >= 900000:
                raise KeyError(f"no post {post_id}")
            post.paragraphs = [p for p in new_text.split("\n") if p.strip()] or [new_text]
            post.edit_count += 1
            post.edited_at = self._unambiguous(minute(when or datetime.now(UTC)))
            self._scan(new_text)

    def _scan(self, text: str) -> None:
        """Keep valid_nirs() honest for text added by tests."""
        for m in ft.NIR_LIKE.finditer(text):
            norm = ft.normalise_nir(m.group(0))
            if norm and ft.nir_valid(norm):
                self.nirs.add(norm)
