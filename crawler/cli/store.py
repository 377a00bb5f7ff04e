"""``darkwatch store check|backup|repair``: the operator's tools for the local SQLite store."""

from __future__ import annotations

import argparse
import os
import sys
import time

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, add_config_arg, load_or_exit

MB = 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="check, back up or repair the local SQLite store")
    ssub = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    c = ssub.add_parser("check", help="integrity, sizes, free space, counts; exit 2 on a problem")
    add_config_arg(c)
    c.add_argument("--full", action="store_true",
                   help="PRAGMA integrity_check (slower, also checks indexes) instead of quick_check")
    c.set_defaults(handler=run_check)
    b = ssub.add_parser("backup", help="consistent copy of the store, safe while a crawl runs")
    add_config_arg(b)
    b.add_argument("dest", metavar="DEST", help="new file to write (must not exist)")
    b.set_defaults(handler=run_backup)
    r = ssub.add_parser("repair", help="copy every readable row of a damaged store into a new file")
    add_config_arg(r)
    r.add_argument("--output", "-o", metavar="FILE",
                   help="new store file (default: STORE.repaired-YYYYmmddTHHMMSS)")
    r.set_defaults(handler=run_repair)


def _size(path: str) -> float:
    try:
        return os.path.getsize(path) / MB
    except OSError:
        return 0.0


def _counts(path: str) -> str:
    from crawler.store_repair import open_ro

    db = open_ro(path)
    try:
        q = lambda sql: db.execute(sql).fetchall()  # noqa: E731
        posts = q("SELECT forum, COUNT(*) FROM posts GROUP BY forum ORDER BY forum")
        alerts = q("SELECT status, COUNT(*) FROM alerts GROUP BY status ORDER BY status")
        threads = q("SELECT COUNT(*) FROM threads")[0][0]
        runs = q("SELECT COUNT(*), MAX(started) FROM runs")[0]
    finally:
        db.close()
    per = lambda rows: ", ".join(f"{k} {v}" for k, v in rows)  # noqa: E731
    return (f"posts {sum(n for _, n in posts)}" + (f" ({per(posts)})" if posts else "")
            + f"; alerts {sum(n for _, n in alerts)}" + (f" ({per(alerts)})" if alerts else "")
            + f"; threads {threads}; runs {runs[0]}" + (f" (last started {runs[1]})" if runs[1] else ""))


def run_check(args: argparse.Namespace) -> int:
    import sqlite3

    from crawler.recovery import pending
    from crawler.store_checks import free_space_problems, integrity_problems, path_problems

    cfg = load_or_exit(args.config)
    path = cfg.store.sqlite
    problems = path_problems(cfg) + free_space_problems(cfg)
    exists = os.path.isfile(path)
    if exists:
        print(f"store {path}: {_size(path):.1f} MB, WAL {_size(path + '-wal'):.1f} MB")
        damage = integrity_problems(path, full=args.full)
        problems += damage
        print(f"integrity ({'integrity_check' if args.full else 'quick_check'}): "
              + ("damaged" if damage else "ok"))
        if not damage:
            try:
                print(_counts(path))
            except sqlite3.Error as exc:
                problems.append(f"cannot count rows of {path}: {exc}")
    elif not os.path.lexists(path):
        print(f"store {path}: not created yet (the first crawl creates it)")
    from crawler.store_checks import _existing_ancestor

    st = os.statvfs(_existing_ancestor(os.path.dirname(os.path.abspath(path))))
    print(f"free space: {st.f_bavail * st.f_frsize / MB:.1f} MB "
          f"(store.min_free_mb {cfg.store.min_free_mb})")
    waiting = {p: n for p, n in pending(path).items() if n}
    for journal, n in waiting.items():
        print(f"recovery journal: {n} post(s) waiting in {journal} (stored by the next crawl)")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return EXIT_CONFIG
    print("ok")
    return EXIT_OK


def _new_file_problem(dest: str) -> str | None:
    if os.path.lexists(dest):
        return f"{dest} already exists: give a new file name"
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        return f"directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable by this user"
    return None


def run_backup(args: argparse.Namespace) -> int:
    import sqlite3

    from crawler.store_checks import integrity_problems
    from crawler.store_repair import backup

    cfg = load_or_exit(args.config)
    src = cfg.store.sqlite
    if not os.path.isfile(src):
        print(f"error: store {src} does not exist: nothing to back up", file=sys.stderr)
        return EXIT_CONFIG
    why = _new_file_problem(args.dest)
    if why:
        print(f"error: backup not started: {why}", file=sys.stderr)
        return EXIT_CONFIG
    t0 = time.monotonic()
    try:
        backup(src, args.dest)
    except (sqlite3.Error, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"error: backup of {src} to {args.dest} failed: {why}", file=sys.stderr)
        return EXIT_CONFIG
    damage = integrity_problems(args.dest)
    if damage:
        print(f"error: the backup {args.dest} is a copy of a damaged store: {damage[0]}",
              file=sys.stderr)
        return EXIT_CONFIG
    print(f"backup {args.dest}: {_size(args.dest):.1f} MB in {time.monotonic() - t0:.1f}s, "
          f"integrity ok; {_counts(args.dest)}")
    return EXIT_OK


def run_repair(args: argparse.Namespace) -> int:
    import sqlite3

    from crawler.store_checks import integrity_problems
    from crawler.store_repair import salvage

    cfg = load_or_exit(args.config)
    src = cfg.store.sqlite
    if not os.path.isfile(src):
        print(f"error: store {src} does not exist: nothing to repair", file=sys.stderr)
        return EXIT_CONFIG
    out = args.output or f"{src}.repaired-{time.strftime('%Y%m%dT%H%M%S')}"
    why = _new_file_problem(out)
    if why:
        print(f"error: repair not started: {why}", file=sys.stderr)
        return EXIT_CONFIG
    if not integrity_problems(src, full=True):
        print(f"store {src}: integrity ok, nothing to repair")
        return EXIT_OK
    try:
        done = salvage(src, out, progress=print)
    except sqlite3.DatabaseError as exc:
        for leftover in (out, out + "-wal", out + "-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        print(f"error: {src} cannot be salvaged ({exc}): restore a backup", file=sys.stderr)
        return EXIT_CONFIG
    lost = sum(done.unreadable.values())
    print(f"repaired copy written to {out}" + (f"; {lost} unreadable row(s) skipped" if lost
                                               else ""))
    print(f"stop crawls, then: mv {src} {src}.damaged && rm -f {src}-wal {src}-shm && mv {out} {src}")
    print("the next crawl reads the lost threads again: lost posts still online are stored "
          "again and their alerts raised")
    return EXIT_OK
