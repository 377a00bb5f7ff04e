"""Secrets and clear identifiers never leak into what a crawl leaves behind or sends out.

Real crawls (``--direct`` against the in-process fixture forum, with logins) with a config
whose forum password, alert-channel token, Elasticsearch password and fingerprint key come
from ``${ENV}``; Elasticsearch is down (the spool path). Everything is captured: stdout and
stderr at ``-vv`` in text and JSON log formats, ``--report``, ``--metrics-file``, every table
of the SQLite store, the notifier's state, the spool, the notification requests received,
and crash paths. Each capture is searched for the secrets, the fixture's session-cookie
values and clear NIRs. NIRs may appear in clear only in the local ``posts`` table (the
documented evidence copy).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from crawler.netpolicy import free_ports
from tests.support.receiver import Receiver
from tests.support.secrets_env import (
    Secrets,
    run_cli,
    session_values,
    sqlite_tables,
    start_forum,
    write_secret_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text)


def find_leaks(captures: dict[str, str], needles: dict[str, str], nirs: list[str],
               nir_allowed: set[str] = frozenset()) -> list[str]:
    out = []
    for where, text in captures.items():
        for what, value in needles.items():
            if value and value in text:
                out.append(f"{what} ({value[:6]}...) in {where}")
        if where in nir_allowed:
            continue
        flat = compact(text)
        hits = [n for n in nirs if n in flat]
        if hits:
            out.append(f"{len(hits)} clear NIR(s) in {where}, e.g. {hits[0][:5]}...")
    return out


def files_under(root: Path, skip: set[Path]) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p not in skip:
            out[f"file {p.relative_to(root)}"] = p.read_bytes().decode("utf-8", "replace")
    return out


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    sec = Secrets()
    forum = start_forum(sec.forum_password)
    (es_port,) = free_ports(1)  # nothing listens: the dead sink, documents stay in the spool
    data = tmp_path_factory.mktemp("secrets")
    caps: dict[str, str] = {}
    runs = {}
    try:
        with Receiver() as hook:
            cfg = write_secret_config(data / "darkwatch.yml", forum, hook.port, es_port)
            common = ("crawl", "--config", str(cfg), "--direct", "-vv")
            runs["json"] = run_cli(*common, "--log-format", "json",
                                   "--report", str(data / "report.json"),
                                   "--metrics-file", str(data / "darkwatch.prom"),
                                   env=sec.env(), cwd=data, timeout=600)
            forum.add_post(forum.content.board_threads(2)[0].tid, "leaker",
                           "new dump 1 85 05 78 006 084 91 more soon")
            runs["text"] = run_cli(*common, "--report", str(data / "report2.json"),
                                   "--metrics-file", str(data / "darkwatch.prom"),
                                   env=sec.env(), cwd=data, timeout=600)
            deadline = time.monotonic() + 20
            while not hook.items and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            with hook.lock:
                received = list(hook.items)
        for name, res in runs.items():
            caps[f"{name} stdout"] = res.stdout
            caps[f"{name} stderr"] = res.stderr
        for i, item in enumerate(received):
            caps[f"notification {i} body"] = item["body"]
            caps[f"notification {i} headers"] = item["headers"]
        tables = sqlite_tables(data / "darkwatch.db")
        for name, text in tables.items():
            caps[f"sqlite table {name}"] = text
        skip = {data / "darkwatch.yml"}
        files = files_under(data, skip)
        sessions = session_values(forum)
        nirs = forum.valid_nirs()
    finally:
        forum.stop()
    return {"sec": sec, "caps": caps, "files": files, "runs": runs, "received": received,
            "tables": tables, "sessions": sessions, "nirs": nirs, "data": data}


def test_the_leak_finder_finds_leaks():
    """The checker itself: a broken finder would make every test below pass."""
    nir = "185057800608491"
    assert find_leaks({"log": "login pw=abc123secret"}, {"pw": "abc123secret"}, [])
    assert find_leaks({"log": "dump: 1 85 05 78 006 084 91"}, {}, [nir])
    assert find_leaks({"log": "dump: 1.85.05.78.006.084-91"}, {}, [nir])
    assert not find_leaks({"posts": nir}, {}, [nir], {"posts"})
    assert not find_leaks({"log": "dump: 1 85 05 ** *** *** 91"}, {}, [nir])


def needles(c) -> dict[str, str]:
    out = dict(c["sec"].named())
    out.update({f"session cookie #{i}": s for i, s in enumerate(c["sessions"])})
    return out


def test_the_crawls_exercised_every_path(captured):
    c = captured
    for name, res in c["runs"].items():
        # 1: the 404 board; 4: Elasticsearch down on purpose (documents kept in the spool)
        assert res.returncode in (1, 4), f"{name}: {res.stdout}{res.stderr}"
    report = json.loads((c["data"] / "report.json").read_text())
    forums = {f["forum"]: f for f in report["forums"]}
    assert forums["sec-phpbb"]["posts_new"] > 0 and forums["sec-mybb"]["posts_new"] > 0, report
    assert forums["sec-phpbb"]["errors"], "the 404 board must produce an error (and its logs)"
    assert len(c["sessions"]) >= 2, "the crawls must have logged in (session cookies issued)"
    assert c["received"], "no notification reached the webhook"
    assert "/hook/" + c["sec"].hook_token in c["received"][0]["path"]  # the channel was used
    assert c["nirs"] and any(n in compact(c["tables"]["posts"]) for n in c["nirs"]), \
        "the posts table is the evidence copy: clear NIRs are expected there"
    assert "alerts" in c["tables"] and c["tables"]["alerts"], "no alert stored"
    spool = [k for k in c["files"] if k.startswith("file spool/")]
    assert spool and any(c["files"][k].strip() for k in spool), "Elasticsearch down: spool empty"
    assert any('"level"' in line for line in c["runs"]["json"].stderr.splitlines()[:50]), \
        "json run produced no JSON log lines"
    assert "DEBUG" in c["runs"]["text"].stderr, "-vv text run produced no debug log"


def test_no_secret_or_cookie_in_any_output(captured):
    c = captured
    problems = find_leaks(c["caps"], needles(c), [], set())
    problems += find_leaks({k: v for k, v in c["files"].items() if not k.startswith("file darkwatch.db")},
                           needles(c), [], set())
    assert problems == [], "\n".join(problems)


def test_no_secret_in_the_sqlite_files_raw_bytes(captured):
    c = captured
    raw = {k: v for k, v in c["files"].items() if k.startswith("file darkwatch.db")}
    assert raw
    problems = find_leaks(raw, c["sec"].named(), [], set(raw))
    assert problems == [], "\n".join(problems)


def test_clear_nirs_only_in_the_posts_table(captured):
    c = captured
    everything = dict(c["caps"])
    everything.update({k: v for k, v in c["files"].items()
                       if not k.startswith(("file darkwatch.db", "file darkwatch-alerts.db"))})
    problems = find_leaks(everything, {}, c["nirs"], {"sqlite table posts"})
    assert problems == [], "\n".join(problems)
    # the notifier's state database is binary sqlite: check its tables, not its bytes
    state = c["data"] / "darkwatch-alerts.db"
    if state.exists():
        problems = find_leaks({f"darkwatch-alerts.db {k}": v for k, v in sqlite_tables(state).items()},
                              needles(c), c["nirs"])
        assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------------------- crash paths
def crash(tmp_path: Path, sec: Secrets, mutate, *extra: str):
    forum = start_forum(sec.forum_password)
    try:
        (es_port,) = free_ports(1)
        cfg = write_secret_config(tmp_path / "darkwatch.yml", forum, 9, es_port, faults=False)
        data = yaml.safe_load(cfg.read_text())
        mutate(data)
        cfg.write_text(yaml.safe_dump(data, sort_keys=False))
        res = run_cli("crawl", "--config", str(cfg), "--direct", "-vv", *extra,
                      env=sec.env(), cwd=tmp_path, timeout=300)
        lint = run_cli("forums", "lint", "--config", str(cfg), env=sec.env(), cwd=tmp_path)
    finally:
        forum.stop()
    return res, lint


CRASHES = {
    # a typo'd level next to the secrets: config error (exit 2) with file:line messages
    "invalid-min-level": lambda d: d["alerts"].update(min_level="urgent"),
    # a channel URL whose scheme is mistyped: the token is in what the error talks about
    "bad-channel-scheme": lambda d: d["alerts"].update(
        channels=["jsn://127.0.0.1:9/hook/${DW_HOOK_TOKEN}"]),
    # Elasticsearch URL with credentials and a broken port
    "es-url-with-password": lambda d: d["store"]["elasticsearch"].update(
        url="http://elastic:${DW_ES_PASS}@127.0.0.1:92x0"),
    # a password where a number is expected (a misplaced line)
    "secret-in-wrong-field": lambda d: d["forums"][0].update(delay="${DW_FORUM_PASS}"),
    # the store path is a directory: sqlite cannot open it (an exception deep in the crawl)
    "store-is-a-directory": lambda d: d["store"].update(
        sqlite=str(Path(d["store"]["sqlite"]).parent / "adir")),
}


FATAL = {"invalid-min-level": 2, "secret-in-wrong-field": 2, "store-is-a-directory": 2,
         "bad-channel-scheme": 2}


@pytest.mark.parametrize("kind", sorted(CRASHES))
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_crash_paths_do_not_print_secrets(kind, log_format, tmp_path):
    sec = Secrets()
    (tmp_path / "adir").mkdir()
    res, lint = crash(tmp_path, sec, CRASHES[kind], "--log-format", log_format)
    if kind in FATAL:
        assert res.returncode == FATAL[kind], f"{kind}: {res.returncode}\n{res.stdout}{res.stderr}"
        assert "Traceback" not in res.stderr, res.stderr[-3000:]
    if kind == "bad-channel-scheme":  # refused before any request, the URL masked
        assert "invalid alert channel" in res.stderr and "jsn://127.0.0.1:9/****" in res.stderr, \
            res.stderr[-3000:]
        assert lint.returncode == 2, lint.stdout + lint.stderr
    out = {"crawl stdout": res.stdout, "crawl stderr": res.stderr,
           "lint stdout": lint.stdout, "lint stderr": lint.stderr}
    problems = find_leaks(out, sec.named(), [])
    assert problems == [], f"{kind}:\n" + "\n".join(problems) + "\n" + res.stderr[-3000:]
