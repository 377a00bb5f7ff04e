# ruff: noqa: E501  (SAMPLE_LEAKY holds real strace lines, which are long)
"""No-leak proof: a Tor-mode ``darkwatch crawl`` under strace talks only to Tor's ports.

Every connect()/sendto()/sendmsg()/sendmmsg() of the crawler's whole process tree is
parsed (strictly: an unparsed socket syscall fails the test) and must address the
configured SOCKS port or control port on loopback; no other IP, no UDP at all (so no
DNS), no resolver files opened, no nscd. Unix sockets are allowed and listed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crawler.netpolicy import free_ports
from tests.support.cli import REPO
from tests.support.strace_net import leaks, parse, strace_argv

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def traced_crawl(config: Path, tmp_path: Path, *extra: str, timeout: float = 600
                 ) -> tuple[subprocess.CompletedProcess, object]:
    out = tmp_path / "strace.txt"
    argv = [*strace_argv(out), sys.executable, "-m", "crawler", "crawl", "--config", str(config),
            "--report", str(tmp_path / "report.json"), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    assert out.exists() and out.stat().st_size > 0, f"strace wrote nothing: {res.stderr[-2000:]}"
    tr = parse(out.read_text(errors="replace"))
    return res, tr


def tor_ports(cfg: dict) -> set[tuple[str, int]]:
    allowed = set()
    for key in ("socks", "control"):
        value = cfg["tor"].get(key)
        if value:
            host, port = value.rsplit(":", 1)
            assert host == "127.0.0.1", f"lab {key} is not on loopback: {value}"
            allowed.add((host, int(port)))
    return allowed


def lab_config(tor_lab, tmp_path: Path, forums: list[dict] | None = None) -> tuple[Path, dict]:
    assert tor_lab.forum is not None, tor_lab.forum_error
    cfg = yaml.safe_load(tor_lab.config.read_text())
    cfg["store"] = {"sqlite": str(tmp_path / "darkwatch.db")}
    if forums is not None:
        cfg["forums"] = forums
    path = tmp_path / "lab.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path, cfg


def describe(tr) -> str:
    inet = sorted({f"{d.syscall} {d.proto} {d.host}:{d.port}" for d in tr.inet()})
    unix = sorted({f"{d.syscall} {d.proto} {d.host}" for d in tr.unix()})
    return f"inet: {inet}\nunix: {unix}\nprocesses/threads traced: {len(tr.pids)}"


def assert_only_tor(tr, allowed: set[tuple[str, int]], socks: tuple[str, int]) -> None:
    problems = leaks(tr, allowed)
    assert problems == [], "\n".join(problems[:30]) + "\n" + describe(tr)
    # the trace really saw the crawl's traffic (a broken trace must not pass as "clean")
    assert any((d.host, d.port) == socks and d.syscall == "connect" for d in tr.inet()), describe(tr)
    print(describe(tr))  # the list of destinations (unix sockets included), for the record


# ---------------------------------------------------------------------------- the parser
SAMPLE_LEAKY = """\
100 connect(3<TCP:[11]>, {sa_family=AF_INET, sin_port=htons(9050), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
100 sendto(3<TCP:[127.0.0.1:40000->127.0.0.1:9050]>, "\\5\\1\\0", 3, 0, NULL, 0) = 3
101 sendto(3<TCP:[11]>, "\\5\\1\\0", 3, 0, NULL, 0) = 3
100 connect(7<UNIX-STREAM:[12]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
100 openat(AT_FDCWD</tmp>, "/etc/resolv.conf", O_RDONLY|O_CLOEXEC) = 7</etc/resolv.conf>
100 connect(8<UDP:[13]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16) = 0
100 sendmmsg(8<UDP:[192.0.2.2:6000->10.0.0.53:53]>, [{msg_hdr={msg_name=NULL}}], 2, MSG_NOSIGNAL) = 2
100 connect(9<TCPv6:[14]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2606:2800::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH (Network is unreachable)
100 sendto(10<TCP:[15]>, "GET", 3, 0, NULL, 0) = 3
100 connect(11<PACKET:[16]>, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL)}, 20) = 0
100 bind(12<TCP:[17]>, {sa_family=AF_INET, sin_port=htons(0)}, 16) = 0
100 <... connect resumed>) = 0
100 listen(13<TCP:[127.0.0.1:41234]>, 100) = 0
100 +++ exited with 0 +++
"""


def test_parser_is_strict_and_finds_every_kind_of_leak():
    tr = parse(SAMPLE_LEAKY)
    problems = "\n".join(leaks(tr, {("127.0.0.1", 9050)}))
    assert "nscd contacted" in problems
    assert "resolver file opened" in problems and "/etc/resolv.conf" in problems
    assert "DNS port 53" in problems and "UDP send/connect" in problems
    assert "10.0.0.53:53" in problems
    assert "AF_INET6 2606:2800::1:443" in problems
    assert "listening socket opened" in problems and "127.0.0.1:41234" in problems
    # unknown peers, unknown families and unknown syscalls are failures, not passes
    assert any("sendto(10<TCP:[15]>" in u for u in tr.unparsed), tr.unparsed
    assert any("AF_PACKET" in u for u in tr.unparsed), tr.unparsed
    assert any("bind(" in u for u in tr.unparsed), tr.unparsed
    # a send on a connected socket is tied to its connect() by inode (thread 101)
    assert sum(1 for d in tr.dests if d.host == "127.0.0.1" and d.port == 9050) == 3
    clean = parse("\n".join(SAMPLE_LEAKY.splitlines()[:3]))
    assert leaks(clean, {("127.0.0.1", 9050)}) == []
    assert leaks(clean, {("127.0.0.1", 9051)}) != []


def test_strace_sees_a_real_dns_lookup(tmp_path):
    """The tracing itself works here: a child resolving a name is caught."""
    out = tmp_path / "s.txt"
    code = ("import socket\ntry:\n socket.getaddrinfo('leak-check.example.com', 80)\n"
            "except OSError:\n pass\n")
    subprocess.run([*strace_argv(out), sys.executable, "-c", code], timeout=60, check=True)
    tr = parse(out.read_text())
    assert tr.unparsed == [], tr.unparsed[:5]
    problems = leaks(tr, set())
    assert any("resolver file" in p or "nscd" in p or "UDP" in p for p in problems), problems


# ---------------------------------------------------------------------------- the crawls
def test_normal_tor_crawl_only_talks_to_tor(tor_lab, tmp_path):
    path, cfg = lab_config(tor_lab, tmp_path)
    res, tr = traced_crawl(path, tmp_path, "-q", "-v")  # -v: INFO, where Scrapy logs listeners
    assert res.returncode == 0, res.stdout + res.stderr
    # No listener: Scrapy's remote control (code execution over HTTP) and telnet console are off.
    assert tr.listens == [], tr.listens
    assert "listening on" not in res.stderr and "Remote control" not in res.stderr, res.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert sum(f["posts_new"] for f in report["forums"]) > 0, report
    allowed = tor_ports(cfg)
    assert_only_tor(tr, allowed, tor_ports({"tor": {"socks": cfg["tor"]["socks"]}}).pop())
    # in system mode with a control port, darkwatch also asks Tor's bootstrap state there
    assert {(d.host, d.port) for d in tr.inet()} == allowed, describe(tr)


def test_tor_down_exit_3_and_only_tor_ports_attempted(tmp_path):
    """SOCKS and control ports closed: exit 3, and nothing but attempts at those two ports."""
    socks_port, control_port = free_ports(2)
    for port in (socks_port, control_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    cfg = {"store": {"sqlite": str(tmp_path / "darkwatch.db")},
           "tor": {"mode": "system", "socks": f"127.0.0.1:{socks_port}",
                   "control": f"127.0.0.1:{control_port}"},
           "rules": {"enabled": False},
           "forums": [{"name": "clear", "engine": "phpbb",
                       "start_urls": ["http://example.com/viewforum.php?f=2",
                                      "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion/"]}]}
    path = tmp_path / "down.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res, tr = traced_crawl(path, tmp_path, "-q", timeout=180)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "Tor unavailable" in res.stderr, res.stderr
    allowed = {("127.0.0.1", socks_port), ("127.0.0.1", control_port)}
    problems = leaks(tr, allowed)
    assert problems == [], "\n".join(problems[:30]) + "\n" + describe(tr)
    attempted = {(d.host, d.port) for d in tr.inet() if d.syscall == "connect"}
    assert attempted and attempted <= allowed, describe(tr)

    # control port absent from the config: the SOCKS port alone is tried
    cfg["tor"]["control"] = None
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res, tr = traced_crawl(path, tmp_path, "-q", timeout=180)
    assert res.returncode == 3, res.stdout + res.stderr
    assert leaks(tr, {("127.0.0.1", socks_port)}) == [], describe(tr)
    assert {(d.host, d.port) for d in tr.inet()} == {("127.0.0.1", socks_port)}, describe(tr)


def test_clearnet_redirects_and_start_urls_still_only_reach_tor(tor_lab, tmp_path):
    """The fault board's ``offsite`` thread (302 to http://example.invalid/) and a forum
    whose start URLs are clearnet names and IP literals: all of it goes to the SOCKS port
    (Tor refuses or fails it: the lab has no exits), never to a resolver or the host."""
    forum = tor_lab.forum
    onion = f"http://{tor_lab.onion}"
    offsite = [t for t in forum.content.board_threads(99) if t.fault == "offsite"]
    assert offsite, "fixture has no offsite thread"
    # Straight at the offsite thread: the rest of the fault board is the hostile-page corpus
    # (tests/crawl/test_hostile_corpus.py), slow by design and not about addresses.
    faults = {"name": "lab-faults", "engine": "phpbb", "delay": 0.0, "concurrency": 4,
              "timeout": 30.0, "timezone": "Europe/Paris",
              "start_urls": [onion + forum.thread_page_path("phpbb", offsite[0].tid, 1)]}
    clear = {"name": "clearnet", "engine": "phpbb", "delay": 0.0, "concurrency": 2,
             "timeout": 30.0,
             "start_urls": ["http://example.com/", "https://example.com/viewforum.php?f=2",
                            "http://93.184.215.14/viewforum.php?f=2",
                            "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
                            "http://localhost/viewforum.php?f=2"]}
    # The fixture's pages link to clearnet hosts (phpbb.com in the footer, schema.org in the
    # breadcrumbs): selectors that pick exactly those links as pagination and sub-boards.
    clear_link = ('.footer-copyright a::attr(href), a[href*="schema.org"]::attr(href), '
                  'a[href^="http://www.w3.org"]::attr(href)')
    hostile = {"name": "lab-clearnet-links", "engine": "phpbb", "delay": 0.0, "concurrency": 2,
               "timeout": 30.0, "timezone": "Europe/Paris",
               "start_urls": [onion + forum.board_page_path("phpbb", 2)],
               "selectors": {"board_next": clear_link, "subboard_link": clear_link,
                             "thread_next": clear_link}}
    path, cfg = lab_config(tor_lab, tmp_path, [faults, clear, hostile])
    before = len(forum.requests)
    res, tr = traced_crawl(path, tmp_path, "-q", timeout=900)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    report = {f["forum"]: f for f in json.loads((tmp_path / "report.json").read_text())["forums"]}
    # the fault board was really crawled, and the offsite thread's redirect was met
    fetched = [p for _m, p in forum.requests[before:]]
    assert any(p.endswith(f"t={offsite[0].tid}") or f"t={offsite[0].tid}&" in p for p in fetched), fetched
    assert report["lab-faults"]["errors"].get("offsite"), report["lab-faults"]
    assert any(s["kind"] == "offsite" and "example.invalid" in s["message"]
               for s in report["lab-faults"]["error_samples"]), report["lab-faults"]
    # clearnet start URLs went to Tor and failed there
    assert report["clearnet"]["status"] == "failed", report["clearnet"]
    assert report["clearnet"]["posts_seen"] == 0
    # the clearnet-link forum really crawled (and its links to other hosts went nowhere)
    assert report["lab-clearnet-links"]["posts_seen"] > 0, report["lab-clearnet-links"]
    allowed = tor_ports(cfg)
    assert_only_tor(tr, allowed, tor_ports({"tor": {"socks": cfg["tor"]["socks"]}}).pop())
