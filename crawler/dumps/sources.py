"""What is inside a dump file: the text streams to scan, read through compression and archives.

A leak is posted as ``dump.csv.gz``, ``export.tar.xz`` or a zip of zips. Nothing is ever written
to disk: ``.gz``, ``.bz2``, ``.xz`` and ``.tar*`` are decompressed as streams, zip members are
read through :mod:`zipfile` (a nested zip is read from its parent's stream). The kind is taken
from the content's magic bytes, not the name. Hostile archives are bounded, and each bound that
stops a stream is reported with its reason (the rest of the dump is still scanned):

* expansion ratio: more than ``max_ratio`` bytes out per compressed byte (past ``ratio_floor``
  bytes) is a decompression bomb;
* total bytes out of one path (``max_total``), members per archive (``max_members``), archive
  nesting (``max_depth``);
* member names that would escape an extraction folder (``..``, absolute, control characters) are
  reported as traps (nothing is extracted, so the content is still scanned, under a safe name);
* encrypted zip members are reported, not guessed; truncated or corrupt streams are reported
  with what was read before the damage; ``.7z`` is reported as not supported (no maintained
  streaming reader in the standard library).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

SEP = "!"  # archive!member, as in jar: URLs
MAX_ZIP_IN_MEMORY = 256 << 20  # a zip inside a .gz or a tar stream is read into memory up to this


class DumpLimit(Exception):
    """A bound of :class:`Limits` was crossed: the stream is cut and reported."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_ratio: int = 200  # decompressed bytes per compressed byte (zip bombs reach 1000+)
    ratio_floor: int = 32 << 20  # below this many bytes out, any ratio is fine (tiny inputs)
    max_total: int = 64 << 30  # bytes out of one path, all members together
    max_members: int = 100_000  # entries per archive
    max_depth: int = 4  # archives inside archives


class _Budget:
    """Bytes out of one path, all members together."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.total = limits, 0
        self.damage: str | None = None  # why the stream being read was cut


@dataclass(slots=True)
class Source:
    """One stream to scan (``stream``), or one that could not be read (``error``)."""

    name: str
    stream: IO[bytes] | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    budget: _Budget | None = None

    def cut(self) -> str | None:
        """Why the stream ended early (damage, a bound), once it has been read; else None."""
        return self.budget.damage if self.budget is not None else None


class _Counted(io.RawIOBase):
    """Counts the bytes read from a compressed stream (the denominator of the ratio)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


class _Guarded(io.RawIOBase):
    """The decompressed side: counts bytes out, raises :class:`DumpLimit` past a bound."""

    def __init__(self, inner: IO[bytes], counted: _Counted | None, declared: int | None,
                 budget: _Budget) -> None:
        self.inner, self.counted, self.declared, self.budget = inner, counted, declared, budget
        self.out = 0
        self.read1_ = getattr(inner, "read1", inner.read)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b) -> int:
        # Damage or a bound ends the stream here (EOF) and is recorded in the budget: raising
        # would lose what the reader above has buffered, and that text is still scanned.
        if self.budget.damage is not None:
            return 0
        try:
            # read1: what the decompressor has, so a truncated stream yields all it holds first
            data = self.read1_(len(b))
        except _DAMAGE as exc:
            self.budget.damage = damage(exc)
            return 0
        n = len(data)
        b[:n] = data
        self.out += n
        lim = self.budget.limits
        self.budget.total += n
        if self.budget.total > lim.max_total:
            self.budget.damage = f"more than {lim.max_total >> 30} GiB decompressed: stopped there"
        elif self.out > lim.ratio_floor:
            src = self.counted.count if self.counted is not None else (self.declared or 0)
            if self.out > lim.max_ratio * max(src, 1):
                self.budget.damage = (f"decompression bomb: more than {lim.max_ratio}x "
                                      f"expansion ({src:,} bytes in, {self.out:,} out): stopped there")
        return n


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError):  # a tar stream's member: forward only
        return False


def _kind(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return "plain"


def safe_name(name: str) -> tuple[str, str | None]:
    """A member name fit to print, and the trap it sets if any (traversal, absolute, control)."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)
    if shown != name:
        return shown, "a member name with control characters"
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return shown, "an absolute member path (would escape an extraction folder)"
    if ".." in parts:
        return shown, "a member path with '..' (would escape an extraction folder)"
    return shown, None


def _decompress(kind: str, stream: IO[bytes]) -> IO[bytes]:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if kind == "bz2":
        return bz2.BZ2File(stream, "rb")
    return lzma.LZMAFile(stream, "rb")


_DAMAGE = (EOFError, zlib.error, OSError, lzma.LZMAError, tarfile.TarError, zipfile.BadZipFile,
           ValueError)


def damage(exc: BaseException) -> str:
    """One line for a truncated or corrupt stream."""
    if isinstance(exc, DumpLimit):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"cannot read: {exc.strerror or exc}"
    if isinstance(exc, EOFError):
        return "truncated (the compressed stream ends early): read up to the damage"
    return f"corrupt or truncated archive ({exc.__class__.__name__}: {exc}): read up to the damage"


def open_sources(path: str, limits: Limits | None = None) -> Iterator[Source]:
    """The streams inside the file at ``path`` (the file itself when it is plain text)."""
    limits = limits or Limits()
    with open(path, "rb") as fh:
        yield from _expand(path, fh, 0, _Budget(limits), None)


def _expand(name: str, stream: IO[bytes], depth: int, budget: _Budget,
            declared: int | None) -> Iterator[Source]:
    try:
        if _seekable(stream):  # a file, a zip member
            peek: IO[bytes] = stream
            head = stream.read(512)
            stream.seek(0)
        else:
            peek = io.BufferedReader(stream if isinstance(stream, io.RawIOBase)
                                     else _Counted(stream), 1 << 16)
            head = peek.peek(512)[:512]
    except _DAMAGE as exc:
        yield Source(name, error=damage(exc))
        return
    kind = _kind(head)
    if kind == "plain":
        if budget.damage is None:  # a stream cut before its text starts has nothing to scan
            yield Source(name, peek, budget=budget)
        return
    if kind == "7z":
        yield Source(name, error="a 7z archive: not supported (no maintained streaming reader); "
                                 "convert it to .tar or .zip")
        return
    if depth >= budget.limits.max_depth:
        yield Source(name, error=f"archive nested more than {budget.limits.max_depth} deep: "
                                 "not opened (a nesting trap)")
        return
    if kind in ("gzip", "bz2", "xz"):
        counted = _Counted(peek)
        inner = _Guarded(_decompress(kind, counted), counted, None, budget)
        yield from _expand(name, inner, depth + 1, budget, None)
    elif kind == "tar":
        yield from _tar(name, peek, depth, budget)
    else:
        yield from _zip(name, peek, depth, budget)


def _tar(name: str, stream: IO[bytes], depth: int, budget: _Budget) -> Iterator[Source]:
    try:
        tf = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - a stream, closed with it
        count = 0
        for member in tf:
            if not member.isfile():
                continue
            count += 1
            shown, trap = safe_name(member.name)
            full = f"{name}{SEP}{shown}"
            if count > budget.limits.max_members:
                yield Source(name, error=f"more than {budget.limits.max_members:,} members: "
                                         "the rest not read (a member-count trap)")
                return
            src = tf.extractfile(member)
            if src is None:
                continue
            for s in _expand(full, src, depth + 1, budget, member.size):
                if trap:
                    s.warnings.append(trap)
                yield s
    except _DAMAGE as exc:
        yield Source(name, error=damage(exc))


def _zip(name: str, stream: IO[bytes], depth: int, budget: _Budget) -> Iterator[Source]:
    try:
        if not _seekable(stream):  # inside a compressed stream; its directory is at the end
            data = stream.read(MAX_ZIP_IN_MEMORY + 1)  # in memory, never on disk
            if len(data) > MAX_ZIP_IN_MEMORY:
                yield Source(name, error=f"a zip inside a compressed stream larger than "
                                         f"{MAX_ZIP_IN_MEMORY >> 20} MiB: not read "
                                         "(decompress the outer layer first)")
                return
            stream = io.BytesIO(data)
        zf = zipfile.ZipFile(stream)
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except _DAMAGE as exc:
        yield Source(name, error=damage(exc))
        return
    if len(infos) > budget.limits.max_members:
        yield Source(name, error=f"{len(infos):,} members, more than "
                                 f"{budget.limits.max_members:,}: the rest not read (a member-count trap)")
        infos = infos[: budget.limits.max_members]
    for info in infos:
        shown, trap = safe_name(info.filename)
        full = f"{name}{SEP}{shown}"
        if info.flag_bits & 0x1:
            yield Source(full, error="encrypted member: not read (no password is guessed)")
            continue
        try:
            member = zf.open(info)
        except (NotImplementedError, *_DAMAGE) as exc:
            yield Source(full, error=damage(exc) if not isinstance(exc, NotImplementedError)
                         else f"unsupported compression: {exc}")
            continue
        # a nested zip needs seeking: it is read from the member itself (bounded by its size)
        inner: IO[bytes] = member if _looks_zip(zf, info) else _Guarded(
            member, None, info.compress_size, budget)
        for s in _expand(full, inner, depth + 1, budget, info.compress_size):
            if trap:
                s.warnings.append(trap)
            yield s


def _looks_zip(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    with zf.open(info) as probe:
        return probe.read(4) == b"PK\x03\x04"
