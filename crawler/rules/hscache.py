"""Compiled Hyperscan databases kept between runs: compiling the NIR patterns costs ~40 ms of
every scan's start-up, loading the serialized database ~0.02 ms.

One file per digest of (patterns, ids, flags, hyperscan version, machine) under
``$XDG_CACHE_HOME/darkwatch/hyperscan`` (``~/.cache`` by default), written atomically and
readable by its owner only. Hyperscan checks what it loads (version, platform, checksum) and
refuses a damaged file; a refusal or any I/O error means compiling as before, then trying to
replace the file. Only darkwatch's own patterns (the NIR shapes, a rule pack's keywords) are
compiled and cached here, never crawled text. ``DARKWATCH_NO_CACHE=1`` compiles every time and
writes nothing (a read-only or shared home, a suspicion about the cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "darkwatch" / "hyperscan"


def enabled() -> bool:
    return os.environ.get("DARKWATCH_NO_CACHE", "").strip().lower() in ("", "0", "no", "false")


def database(hyperscan: Any, expressions: list[bytes], ids: list[int], flags: int | list[int] = 0,
             literal: bool = False) -> Any:
    """A block-mode database of ``expressions`` (literals: Hyperscan's literal API): from the
    cache when it holds a good one."""
    key = hashlib.sha256(repr((expressions, ids, flags, literal,
                               getattr(hyperscan, "__version__", ""),
                               platform.machine())).encode()).hexdigest()
    path = cache_dir() / f"{key[:32]}.hsdb"
    use_cache = enabled()
    if use_cache:
        try:
            db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)  # a compiled database comes with one, a loaded not
            return db
        except (OSError, hyperscan.error):
            pass
    db = hyperscan.Database()
    db.compile(expressions=expressions, ids=ids, flags=flags, literal=literal)
    if use_cache:
        with contextlib.suppress(OSError):  # a read-only home, a full disk: compiled each time
            _write(path, hyperscan.dumpb(db))
    return db


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
