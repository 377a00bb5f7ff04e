"""Store failures are refusals, and nothing is lost (issue 15, part 3).

Real faults on the real store: a full tmpfs, a read-only mount, pages overwritten mid-file.
Crawls run the real CLI against the fixture forum, as the crawl tests do.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from crawler.model import Alert, Post
from crawler.recovery import RecoveryJournal, journal_paths, replay
from crawler.sinks.sqlite import SqliteStore
from tests.support.cli import REPO, darkwatch
from tests.support.forum_lab import Lab, running_forum

KEY = {"DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"}


@pytest.fixture
def lab():
    with running_forum("phpbb") as forum:
        yield forum


def write_cfg(path: Path, lab: Lab, store: Path, **store_extra) -> Path:
    cfg = {"store": {"sqlite": str(store), **store_extra},
           "rules": {"paths": [str(REPO / "rules")]},
           "forums": [lab.forum_config("phpbb")]}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def crawl(cfg: Path, *extra: str) -> subprocess.CompletedProcess:
    return darkwatch("crawl", "--config", str(cfg), "--direct", "-q", *extra, env=KEY)


def one_line_error(res: subprocess.CompletedProcess, needle: str) -> str:
    """The refusal is one `error:` line on stderr, with no traceback anywhere."""
    out = res.stdout + res.stderr
    assert "Traceback" not in out, out
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, res.stderr
    assert needle in lines[0], lines[0]
    return lines[0]


def stored(store: Path) -> tuple[dict, dict]:
    """(posts by key, alerts by id) as the store holds them, minus per-run timestamps."""
    db = sqlite3.connect(store)
    try:
        posts = {(f, p): (sha, matches) for f, p, sha, matches in db.execute(
            "SELECT forum, post_id, content_sha256, matches FROM posts")}
        alerts = {i: (st, json.loads(doc)["post_id"], json.loads(doc)["rule"]["id"])
                  for i, st, doc in db.execute("SELECT id, status, doc FROM alerts")}
    finally:
        db.close()
    return posts, alerts


def mount_tmpfs(where: Path, size: str, *opts: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *opts]),
                          "tmpfs", str(where)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (root needed): {res.stderr.strip()}")


def umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def clean_run(lab, tmp_path):
    """An uninterrupted crawl on its own store: what every faulty run must end up with."""
    store = tmp_path / "clean" / "darkwatch.db"
    cfg = write_cfg(tmp_path / "clean.yml", lab, store)
    res = crawl(cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    posts, alerts = stored(store)
    assert len(posts) == len(lab.public_truth("phpbb")) and alerts
    lab.server.reset_requests()
    return posts, alerts


# -- full disk ----------------------------------------------------------------------------
@pytest.mark.integration
def test_full_disk_stops_the_crawl_and_the_next_crawl_loses_nothing(lab, tmp_path, clean_run):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "300k")
    store = disk / "darkwatch.db"
    try:
        # Default store.min_free_mb (50): refused before anything is fetched.
        cfg = write_cfg(tmp_path / "full.yml", lab, store)
        res = crawl(cfg)
        assert res.returncode == 2, res.stdout + res.stderr
        one_line_error(res, "MB free on the store's file system")
        assert "store.min_free_mb is 50" in res.stderr
        assert lab.server.requests == []

        # Let it start: the disk fills up mid-crawl.
        cfg = write_cfg(tmp_path / "full.yml", lab, store, min_free_mb=0)
        report = tmp_path / "report.json"
        res = crawl(cfg, "--report", str(report))
        assert res.returncode == 6, res.stdout + res.stderr
        line = one_line_error(res, "write failed (database or disk is full); fetching stopped")
        assert "cannot rollback" not in res.stdout + res.stderr
        assert "post(s) kept in" in line and "stored by the next crawl" in line
        assert "store-write-failed" in res.stdout
        rep = json.loads(report.read_text())
        assert rep["store_error"] == line.removeprefix("error: ")
        (row,) = rep["forums"]
        assert row["status"] == "failed" and row["finish_reason"] == "store-write-failed"
        # Fetching stopped: far fewer pages than the forum has.
        assert row["pages"] < 67 / 2, row

        subprocess.run(["mount", "-o", "remount,size=50m", str(disk)], check=True)
        posts, alerts = stored(store)
        # No post is reported as stored that was not.
        assert row["posts_new"] == len(posts), (row["posts_new"], len(posts))
        assert row["alerts"] == len(alerts)

        res = crawl(cfg)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "recovery journal:" in res.stderr
        assert stored(store) == clean_run  # exactly the posts AND alerts of the clean run
        assert not any(p.exists() for p in journal_paths(str(store)))
    finally:
        for p in journal_paths(str(store)):
            p.unlink(missing_ok=True)
        umount(disk)


# -- read-only store, store path that is a directory ---------------------------------------
@pytest.mark.integration
def test_read_only_store_is_refused_before_fetching(lab, tmp_path, clean_run):
    src = tmp_path / "clean"
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount (root needed)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        cfg = write_cfg(tmp_path / "ro.yml", lab, ro / "darkwatch.db")
        res = crawl(cfg)
        assert res.returncode == 2, res.stdout + res.stderr
        one_line_error(res, "is not writable (Read-only file system)")
        assert lab.server.requests == []

        lint = darkwatch("forums", "lint", "--config", str(cfg))
        assert lint.returncode == 2 and "ok" not in lint.stdout, lint.stdout + lint.stderr
        assert "Read-only file system" in lint.stderr and "Traceback" not in lint.stderr

        # Other commands that open the store refuse it the same way (was an OSError traceback).
        out = darkwatch("posts", "export", "--config", str(cfg))
        assert out.returncode == 2, out.stdout + out.stderr
        one_line_error(out, "Read-only file system")
    finally:
        umount(ro)


def test_store_path_that_is_a_directory_fails_lint_and_crawl(tmp_path):
    (tmp_path / "db-dir").mkdir()
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text(yaml.safe_dump({
        "store": {"sqlite": str(tmp_path / "db-dir")}, "rules": {"enabled": False},
        "forums": [{"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:9/x"]}]}))
    lint = darkwatch("forums", "lint", "--config", str(cfg))
    assert lint.returncode == 2, lint.stdout + lint.stderr
    assert "is a directory: give a file path" in lint.stderr and "Traceback" not in lint.stderr
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 2
    one_line_error(res, "is a directory: give a file path")


# -- corrupted store ----------------------------------------------------------------------
def corrupt(path: Path, pages: int = 8) -> None:
    """Overwrite pages in the middle of the file, as a failing disk or a bad copy would."""
    size = path.stat().st_size
    n = size // 4096
    rnd = random.Random(15)
    with path.open("r+b") as fh:
        for page in range(n // 3, n // 3 + pages):
            fh.seek(page * 4096)
            fh.write(rnd.randbytes(4096))


@pytest.mark.integration
def test_corrupted_store_is_refused_checked_and_repaired(lab, tmp_path, clean_run):
    store = tmp_path / "bad" / "darkwatch.db"
    store.parent.mkdir()
    backup = tmp_path / "backup.db"
    cfg_clean = write_cfg(tmp_path / "clean.yml", lab, tmp_path / "clean" / "darkwatch.db")
    res = darkwatch("store", "backup", str(backup), "--config", str(cfg_clean))
    assert res.returncode == 0, res.stderr
    assert "integrity ok" in res.stdout and f"posts {len(clean_run[0])}" in res.stdout
    os.rename(backup, store)
    corrupt(store)
    cfg = write_cfg(tmp_path / "bad.yml", lab, store)

    res = crawl(cfg)  # not "ok, 0 new"
    assert res.returncode == 2, res.stdout + res.stderr
    one_line_error(res, "is damaged")
    assert "darkwatch store check" in res.stderr and "darkwatch store repair" in res.stderr
    assert lab.server.requests == []

    for cmd in (("posts", "export"), ("alerts", "list", "--limit", "100000")):
        out = darkwatch(*cmd, "--config", str(cfg))
        assert out.returncode == 2, (cmd, out.stdout, out.stderr)
        one_line_error(out, "run `darkwatch store check`")

    check = darkwatch("store", "check", "--config", str(cfg))
    assert check.returncode == 2 and "integrity (quick_check): damaged" in check.stdout
    one_line_error(check, "is damaged")

    repaired = tmp_path / "bad" / "repaired.db"
    rep = darkwatch("store", "repair", "--config", str(cfg), "--output", str(repaired))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "unreadable" in rep.stdout and "thread states cleared" in rep.stdout
    # The operator swaps the files as told; the next crawl restores what the damage took.
    os.rename(store, str(store) + ".damaged")
    for side in ("-wal", "-shm"):
        Path(str(store) + side).unlink(missing_ok=True)
    os.rename(repaired, store)
    assert darkwatch("store", "check", "--config", str(cfg)).returncode == 0
    res = crawl(cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    assert stored(store) == clean_run


# -- atomicity and the journal, on the real store (no crawl) ------------------------------
def make_post(pid: str) -> Post:
    return Post(forum="f", thread_url="http://127.0.0.1/t=1", thread_title="t", post_id=pid,
                author="a", published=None, text=f"text {pid}", quoted_text="", url="http://127.0.0.1/")


def make_alert(pid: str, level: str = "high") -> Alert:
    return Alert(rule={"id": "r1", "level": level}, forum="f", thread_url="http://127.0.0.1/t=1",
                 thread_title="t", post_id=pid, post_url="http://127.0.0.1/", published=None,
                 counts={"x": 1}, masked=["1 85 ** ***"], fingerprints=["ab" * 16], snippet="s")


def test_a_post_row_is_never_committed_without_its_alerts(tmp_path):
    """The 59-of-60 alerts finding: a post stored before its alerts failed was never re-alerted."""
    store = SqliteStore(str(tmp_path / "s.db"))
    try:
        post = make_post("1")
        with pytest.raises(ValueError):
            store.store_post(post, [make_alert("1", level="no-such-level")])
        assert store.classify(post) == "new"  # the next crawl processes it again
        store.store_post(post, [make_alert("1")])
        assert store.classify(post) == "unchanged"
        assert [a.post_id for a in store.list_alerts()] == ["1"]
    finally:
        store.close()


def test_journal_survives_until_its_records_are_stored(tmp_path):
    path = str(tmp_path / "s.db")
    journal = RecoveryJournal(path)
    try:
        journal.append(make_post("1"), [make_alert("1")])
        journal.append(make_post("2"), [])
        store = SqliteStore(path)

        def failing(post, alerts):
            raise sqlite3.OperationalError("disk I/O error")

        with pytest.raises(sqlite3.OperationalError):
            replay(path, failing)
        assert journal_paths(path)[0].exists()  # kept whole when storing fails

        done = replay(path, lambda p, a: store.store_post(p, a))
        assert (done.posts, done.alerts) == (2, 1)
        assert not journal_paths(path)[0].exists()
        assert store.count_posts() == 2 and len(store.list_alerts()) == 1
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        store.close()
    finally:
        for p in journal_paths(path):
            p.unlink(missing_ok=True)


def test_journal_falls_back_to_a_private_temp_dir(tmp_path):
    path = str(tmp_path / "s.db")
    beside, fallback = journal_paths(path)
    beside.mkdir()  # a directory in the way: appending beside the store fails
    try:
        where = RecoveryJournal(path).append(make_post("1"), [])
        assert where == fallback
        assert fallback.parent.stat().st_mode & 0o777 == 0o700
        assert fallback.stat().st_mode & 0o777 == 0o600
    finally:
        fallback.unlink(missing_ok=True)


def test_backup_refuses_an_existing_destination(tmp_path):
    store = tmp_path / "s.db"
    SqliteStore(str(store)).close()
    cfg = tmp_path / "c.yml"
    cfg.write_text(yaml.safe_dump({"store": {"sqlite": str(store)}, "rules": {"enabled": False},
                                   "forums": [{"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:9/x"]}]}))
    (tmp_path / "exists.db").write_text("x")
    res = darkwatch("store", "backup", str(tmp_path / "exists.db"), "--config", str(cfg))
    assert res.returncode == 2
    one_line_error(res, "already exists")
    assert (tmp_path / "exists.db").read_text() == "x"


def test_lock_and_spool_paths_are_checked_before_fetching(tmp_path):
    from crawler.config import load_config
    from crawler.store_checks import preflight

    (tmp_path / "spool").write_text("a file where the spool directory should be")
    cfg = tmp_path / "c.yml"
    cfg.write_text(yaml.safe_dump({
        "store": {"sqlite": str(tmp_path / "darkwatch.db"),
                  "elasticsearch": {"url": "http://127.0.0.1:9", "spool_dir": str(tmp_path / "spool")}},
        "rules": {"enabled": False},
        "forums": [{"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:9/x"]}]}))
    assert preflight(load_config(str(cfg))) == [
        f"store.elasticsearch.spool_dir {tmp_path / 'spool'} is not a directory"]
    (tmp_path / "spool").unlink()
    (tmp_path / ".darkwatch-locks").write_text("a file where the lock directory should be")
    assert preflight(load_config(str(cfg))) == [
        f"the lock directory {tmp_path / '.darkwatch-locks'} is not a directory"]
    (tmp_path / ".darkwatch-locks").unlink()
    assert preflight(load_config(str(cfg))) == []
