"""Can the local store take a crawl? Checked before anything is fetched.

A crawl that discovers a read-only directory, a full disk or a corrupt file halfway through
has fetched pages (through Tor, from hostile forums) for nothing, and a corrupt file answers
"nothing new" to every question. These checks turn all three into a refusal with one line.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from crawler.sinks.sqlite import _CORRUPT, damaged_message

if TYPE_CHECKING:
    from crawler.config import Config

MB = 1024 * 1024


def lock_dir(cfg: Config) -> str:
    """Forum locks live beside the store (one store, one set of crawls)."""
    return os.path.join(os.path.dirname(cfg.store.sqlite) or ".", ".darkwatch-locks")


def _existing_ancestor(path: str) -> Path:
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _cannot_create_in(directory: Path) -> str | None:
    """Why no file can be created here (permission, read-only file system), by trying."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".darkwatch-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def _dir_problem(directory: str, what: str) -> str | None:
    """A directory we will create files in (created with its parents when missing)."""
    p = Path(directory)
    if p.exists():
        if not p.is_dir():
            return f"{what} {directory} is not a directory"
        why = _cannot_create_in(p)
        return f"{what} {directory} is not writable ({why})" if why else None
    anc = _existing_ancestor(directory)
    if not anc.is_dir():
        return f"{what} {directory}: {anc} is not a directory"
    why = _cannot_create_in(anc)
    return f"{what} {directory} cannot be created in {anc} ({why})" if why else None


def _cannot_write(path: Path) -> str | None:
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def path_problems(cfg: Config) -> list[str]:
    """Store file, its directory (WAL files, notifier state), lock and spool directories."""
    path = cfg.store.sqlite
    problems: list[str] = []
    p = Path(path)
    if p.exists() or p.is_symlink():
        try:
            mode = p.stat().st_mode
        except OSError as exc:
            return [f"store.sqlite {path}: {exc.strerror}"]
        if stat.S_ISDIR(mode):
            return [f"store.sqlite {path} is a directory: give a file path, e.g. {p / 'darkwatch.db'}"]
        if not stat.S_ISREG(mode):
            return [f"store.sqlite {path} is not a regular file"]
        why = _cannot_write(p)
        if why:
            problems.append(f"store.sqlite {path} is not writable ({why})")
        for extra in ("-wal", "-shm"):
            side = Path(path + extra)
            why = _cannot_write(side) if side.exists() else None
            if why:
                problems.append(f"store.sqlite {path}: {side.name} is not writable ({why})")
    why = _dir_problem(os.path.dirname(os.path.abspath(path)), "the store's directory")
    if why:
        problems.append(why)
    why = _dir_problem(lock_dir(cfg), "the lock directory")
    if why and not problems:  # same directory as the store's: say it once
        problems.append(why)
    es = cfg.store.elasticsearch
    if es is not None:
        why = _dir_problem(es.spool_dir, "store.elasticsearch.spool_dir")
        if why:
            problems.append(why)
    return problems


def free_space_problems(cfg: Config) -> list[str]:
    """At least ``store.min_free_mb`` free where the store (and the spool) write."""
    minimum = cfg.store.min_free_mb
    if minimum <= 0:
        return []
    dirs = [("store", os.path.dirname(os.path.abspath(cfg.store.sqlite)))]
    if cfg.store.elasticsearch is not None:
        dirs.append(("spool", cfg.store.elasticsearch.spool_dir))
    problems, seen = [], set()
    for what, d in dirs:
        anc = _existing_ancestor(d)
        try:
            st = os.statvfs(anc)
            dev = os.stat(anc).st_dev
        except OSError:
            continue  # reported by path_problems
        if dev in seen:
            continue
        seen.add(dev)
        free = st.f_bavail * st.f_frsize / MB
        if free < minimum:
            problems.append(f"only {free:.1f} MB free on the {what}'s file system ({anc}); "
                            f"store.min_free_mb is {minimum}: free space or move the {what}")
    return problems


def integrity_problems(path: str, full: bool = False) -> list[str]:
    """``PRAGMA quick_check`` (or ``integrity_check`` with ``full``) on a read-only connection."""
    try:
        if os.path.getsize(path) == 0:
            return []
    except OSError:
        return []  # not created yet
    pragma = "integrity_check(20)" if full else "quick_check(20)"
    try:
        db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=10)
        try:
            rows = [r[0] for r in db.execute(f"PRAGMA {pragma}")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        if ((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF) in _CORRUPT:
            return [damaged_message(path, exc)]
        return [f"cannot read the store {path}: {exc}"]
    if rows == ["ok"]:
        return []
    more = f" (+{len(rows) - 1} more)" if len(rows) > 1 else ""
    return [damaged_message(path, f"{pragma.split('(')[0]}: {rows[0]}{more}")]


def preflight(cfg: Config) -> list[str]:
    """Every reason the store cannot take a crawl now; empty when it can."""
    problems = path_problems(cfg)
    if problems:
        return problems
    problems = free_space_problems(cfg)
    if cfg.store.integrity_check:
        problems += integrity_problems(cfg.store.sqlite)
    return problems
