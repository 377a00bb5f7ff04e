"""Input and output path checks done before any work, each failure said in one line.

A FIFO given as input would block a read forever and a report written into a missing folder
would fail after an hour of crawling: both are refused up front, naming what the path is.
"""

from __future__ import annotations

import os
import stat

_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` is, in words ("regular file", "FIFO (named pipe)", ...)."""
    if stat.S_ISREG(mode):
        return "regular file"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "special file"


def _stat_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, NotADirectoryError):
        return "a parent of this path is not a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def input_problem(path: str | os.PathLike[str], allow_dir: bool = False) -> str | None:
    """Why ``path`` cannot be read as input (None when it can): missing, special, unreadable."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return _stat_problem(exc)
    if stat.S_ISDIR(st.st_mode) and allow_dir:
        return None if os.access(path, os.R_OK | os.X_OK) else "folder not readable (permission denied)"
    if not stat.S_ISREG(st.st_mode):
        want = "a file or a folder" if allow_dir else "a regular file"
        return f"not a regular file (it is a {file_kind(st.st_mode)}); give {want}"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def output_problem(path: str | os.PathLike[str], create_dirs: bool = False,
                   atomic: bool = False) -> str | None:
    """Why a file cannot be created or replaced at ``path`` (None when it can).

    ``create_dirs``: the writer creates missing folders, so the nearest existing one must be
    writable. ``atomic``: the writer renames a temporary file over the target, so its folder
    must be writable even when the target exists.
    """
    target = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        return _stat_problem(exc)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return "is a directory; give a file name"
        if not os.access(target, os.W_OK):
            return "exists and is not writable"
        if not atomic:
            return None
    parent = os.path.dirname(target)
    existing = parent
    while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if os.path.lexists(existing) and not os.path.isdir(existing):
        return f"{existing} is not a directory"
    if existing != parent and not create_dirs:
        return f"directory {parent}: no such file or directory (create it first)"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"directory {existing} is not writable"
    return None
