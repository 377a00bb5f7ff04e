"""CLI hygiene (issue 15): closed pipes, out-of-range dates, output paths checked before the work,
special files named as such, and no listening socket during a crawl.

Each refusal is checked for its exit code, its one-line message and the absence of a traceback.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from crawler.cli._common import check_input_path, check_output_paths
from crawler.model import Post
from crawler.sinks.sqlite import SqliteStore
from tests.support.alerts import make_alert
from tests.support.cli import REPO, darkwatch, write_config
from tests.support.mini_forum import PagesHandler, forum_entry
from tests.support.strace_net import require_strace

FORUM = {"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:1/viewforum.php?f=1"]}
# More than any pipe buffer (64 KiB by default): the writer must meet the closed pipe.
BIG = 2 << 20


def one_error(res, code: int = 2) -> str:
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def closed_after_first_line(*args: str) -> tuple[int, str, str]:
    """Run the CLI, read one line and close the pipe, as ``darkwatch ... | head -1`` does."""
    proc = subprocess.Popen([sys.executable, "-m", "crawler", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=300)
    return proc.returncode, first, err


def assert_quiet_pipe_end(code: int, first: str, err: str) -> None:
    assert first.strip(), err
    # 141 = 128 + SIGPIPE: the output is bigger than the pipe, so the close was met, not missed
    assert code == 141, (code, err[-2000:])
    for noise in ("Traceback", "BrokenPipe", "Exception ignored"):
        assert noise not in err, err[-2000:]


@pytest.fixture
def store_config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "darkwatch.yml", [FORUM])


@pytest.fixture
def readonly_dir(tmp_path: Path):
    """A directory nobody can write into: mode 0555, or for root a read-only tmpfs mount."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"root cannot mount a read-only tmpfs here: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


# ------------------------------------------------------------------------------ closed pipes
def test_posts_export_into_a_closed_pipe_ends_quietly(store_config, tmp_path):
    store = SqliteStore(str(tmp_path / "darkwatch.db"))
    text = "x" * 1000
    store.write_posts([Post(forum="f", thread_url="t", thread_title="t", post_id=str(i), author="a",
                            published="2024-01-01T00:00:00Z", text=text, quoted_text="", url="u")
                       for i in range(BIG // 1000)])
    store.close()
    code, first, err = closed_after_first_line("posts", "export", "--config", str(store_config))
    assert_quiet_pipe_end(code, first, err)
    assert json.loads(first)["forum"] == "f"
    code, first, err = closed_after_first_line("posts", "export", "--config", str(store_config),
                                               "--format", "csv")
    assert_quiet_pipe_end(code, first, err)
    assert first.startswith("forum,")


def test_alerts_list_into_a_closed_pipe_ends_quietly(store_config, tmp_path):
    store = SqliteStore(str(tmp_path / "darkwatch.db"))
    store.write_alerts([make_alert(post_id=f"p{i}", forum="f") for i in range(12_000)])
    store.close()
    for fmt in ("text", "jsonl"):
        code, first, err = closed_after_first_line("alerts", "list", "--config", str(store_config),
                                                   "--limit", "100000", "--format", fmt)
        assert_quiet_pipe_end(code, first, err)


def test_scan_into_a_closed_pipe_ends_quietly(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "word.yml").write_text(textwrap.dedent("""\
        id: 0b7c3d2e-5f4a-4e4b-9c1d-2a3b4c5d6e7f
        name: leak-word
        title: the word leak
        level: low
        detection:
          patterns:
            w: {keywords: [leak]}
          condition: w
        """))
    dump = tmp_path / "dump.txt"
    dump.write_text("leak\n" * 30_000)
    code, first, err = closed_after_first_line("scan", str(dump), "--rules", str(rules))
    assert "leak-word" in first
    assert_quiet_pipe_end(code, first, err)


# ----------------------------------------------------------------------- dates and durations
@pytest.mark.parametrize("since,why", [
    ("99999999999d", "'99999999999d' is out of range: a duration is at most 36500 days (100 years)"),
    ("9999-12-31T23:59:59-23:59", "'9999-12-31T23:59:59-23:59' is out of range: in UTC it falls "
                                  "outside the years 1-9999"),
    ("0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00' is out of range: in UTC it falls "
                                  "outside the years 1-9999"),
])
def test_alerts_list_since_out_of_range(store_config, since, why):
    msg = one_error(darkwatch("alerts", "list", "--config", str(store_config), "--since", since))
    assert msg == f"error: --since: {why}"


def test_posts_export_since_out_of_range(store_config, tmp_path):
    msg = one_error(darkwatch("posts", "export", "--config", str(store_config),
                              "--since", "9999-12-31T23:59:59-23:59"))
    assert msg == ("error: --since: '9999-12-31T23:59:59-23:59' is out of range: in UTC it falls "
                   "outside the years 1-9999")
    msg = one_error(darkwatch("posts", "export", "--config", str(store_config),
                              "--since", "99999999999d"))
    assert msg == ("error: --since: '99999999999d' is not an ISO 8601 time "
                   "(e.g. 2024-01-15T00:00:00Z)")
    assert not (tmp_path / "darkwatch.db").exists()  # refused before the store was opened


# ---------------------------------------------------------------------------- output paths
def test_crawl_output_paths_are_checked_before_any_work(store_config, tmp_path, readonly_dir):
    db = tmp_path / "darkwatch.db"
    afile = tmp_path / "afile"
    afile.write_text("")
    cases = [
        (("--report", str(tmp_path / "missing" / "r.json")),
         f"error: --report {tmp_path / 'missing' / 'r.json'}: directory {tmp_path / 'missing'}: "
         "no such file or directory (create it first)"),
        (("--report", str(tmp_path)), f"error: --report {tmp_path}: is a directory; give a file name"),
        (("--report", str(readonly_dir / "r.json")),
         f"error: --report {readonly_dir / 'r.json'}: directory {readonly_dir} is not writable"),
        (("--metrics-file", str(afile / "sub" / "m.prom")),
         f"error: --metrics-file {afile / 'sub' / 'm.prom'}: {afile} is not a directory"),
        (("--metrics-file", str(readonly_dir / "sub" / "m.prom")),
         f"error: --metrics-file {readonly_dir / 'sub' / 'm.prom'}: directory {readonly_dir} "
         "is not writable"),
    ]
    for extra, expected in cases:
        res = darkwatch("crawl", "--config", str(store_config), "--direct", "-q", *extra, timeout=120)
        assert one_error(res) == expected
        assert not db.exists(), "the crawl started although its output path is unusable"
    assert os.listdir(readonly_dir) == []


def test_posts_export_output_is_checked_before_the_store_is_read(store_config, tmp_path,
                                                                  readonly_dir):
    for target, why in ((tmp_path / "missing" / "out.jsonl",
                         f"directory {tmp_path / 'missing'}: no such file or directory (create it first)"),
                        (readonly_dir / "out.jsonl", f"directory {readonly_dir} is not writable")):
        msg = one_error(darkwatch("posts", "export", "--config", str(store_config), "-o", str(target)))
        assert msg == f"error: --output {target}: {why}"
        assert not target.exists()
    assert not (tmp_path / "darkwatch.db").exists()


def test_output_check_accepts_what_the_writers_can_do(tmp_path):
    existing = tmp_path / "r.json"
    existing.write_text("{}")
    assert check_output_paths(report=str(existing), output=str(tmp_path / "new.jsonl")) is None
    # the metrics writer creates missing folders: a creatable one is fine
    assert check_output_paths(created=("metrics_file",),
                              metrics_file=str(tmp_path / "a" / "b" / "m.prom")) is None
    assert check_output_paths(report=None) is None


# ----------------------------------------------------------------------------- special files
def test_special_files_are_named_as_such(tmp_path):
    fifo = tmp_path / "dump.fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "dump.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        assert check_input_path(str(fifo)) == (f"error: {fifo}: not a regular file (it is a FIFO "
                                               "(named pipe)); give a regular file")
        assert check_input_path(str(sock_path), allow_dir=True) == (
            f"error: {sock_path}: not a regular file (it is a socket); give a file or a folder")
        assert check_input_path("/dev/null") == ("error: /dev/null: not a regular file (it is a "
                                                 "character device); give a regular file")
        missing = tmp_path / "nope"
        assert check_input_path(str(missing)) == f"error: {missing}: no such file or directory"
        assert check_input_path(str(tmp_path), allow_dir=True) is None
        assert "it is a directory" in check_input_path(str(tmp_path))
        for special in (fifo, sock_path):
            res = darkwatch("scan", str(special), timeout=120)
            assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
            errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
            assert len(errors) == 1 and errors[0].startswith(f"error: {special}: not a regular file"), errors
            assert "no such file" not in res.stderr
    finally:
        sock.close()


# ------------------------------------------------------------------------------- listeners
@pytest.fixture
def mini_forum():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PagesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
def test_a_crawl_opens_no_listening_socket(mini_forum, tmp_path):
    """Scrapy 2.19's remote control (an HTTP server that runs posted code) and its telnet console
    stay off: strace sees no listen() in the crawl's process tree, no job file is written."""
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", mini_forum)])
    trace = tmp_path / "listen.txt"
    state = tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(state), "HOME": str(tmp_path / "home")}
    res = subprocess.run([require_strace(), "-f", "-yy", "-e", "trace=listen", "-o", str(trace),
                          sys.executable, "-m", "crawler", "crawl", "--config", str(cfg), "--direct",
                          "-q", "-v"], capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "mini" in res.stdout and "Traceback" not in res.stderr
    lines = trace.read_text().splitlines()
    assert any("+++ exited with 0 +++" in ln for ln in lines), lines[-5:]  # the trace is real
    assert [ln for ln in lines if " listen(" in ln] == []
    # bind() alone is no listener (urllib3 probes IPv6 with a bind to [::1]:0); a listening
    # socket needs listen(), and the remote control would also log its port and write a job file
    for word in ("Remote control", "RemoteControl", "listening on", "TelnetConsole"):
        assert word not in res.stderr, res.stderr[-2000:]  # -v: Scrapy lists enabled extensions
    assert not state.exists() or list(state.rglob("*")) == []  # no job file with a token


@pytest.mark.integration
def test_crawl_with_stdout_closed_still_writes_report_and_metrics(mini_forum, tmp_path):
    """``darkwatch crawl | head -0``: the summary cannot be printed, the crawl's bookkeeping is
    still done (report, metrics) and its exit code is the crawl's, without a traceback."""
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", mini_forum)])
    report, prom = tmp_path / "r.json", tmp_path / "m.prom"
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--config", str(cfg),
                             "--direct", "-q", "--report", str(report), "--metrics-file", str(prom)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    proc.stdout.close()  # before the crawl prints anything: its first print meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert json.loads(report.read_text())["forums"][0]["posts_new"] == 3
    assert "darkwatch_posts_new_total" in prom.read_text()
