"""Hostile and broken YAML (issues 15 and 18): alias bombs, size, syntax positions, config defects.

Every YAML darkwatch reads (config, rules, engine presets) goes through ``crawler.yamlpos``: the
bounds are checked while the node tree is composed, so a bomb is refused before it is expanded.
The bomb figures (time of the refusal, peak RSS of the process) are measured in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from crawler import yamlpos
from crawler.config.loader import SHIPPED_RULES, ConfigError, load_config, parse_config
from crawler.rules.loader import load_rules
from crawler.yamlpos import YamlError, load_documents
from tests.support.cli import REPO, darkwatch
from tests.support.figures import figure

FORUM = '{name: a, engine: phpbb, start_urls: ["http://127.0.0.1:1/"]}'

# "billion laughs": 9 levels of 9 aliases; expanded, 9**9 strings (the 392-byte config).
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(f"*{chr(97 + i)}" for _ in range(9)) + "]\n"
    for i in range(8)) + f"forums:\n  - {FORUM}\n"
# The first alias that crosses the depth bound: *d on line 5 (column 8).
BOMB_AT = (5, 8)

RULE_BOMB = textwrap.dedent("""\
    id: 0b7c3d2e-5f4a-4e4b-9c1d-2a3b4c5d6e7f
    name: bomb
    title: alias bomb
    level: high
    detection:
      patterns:
        w0: {keywords: &k0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]}
    """) + "".join(
    f"    w{i}: {{keywords: &k{i} [" + ", ".join(f"*k{i - 1}" for _ in range(9)) + "]}\n"
    for i in range(1, 9))

# In a child: the time of the refusal (imports excluded) and the process's peak RSS. The address
# space is capped, so a regression fails this test instead of exhausting the machine.
MEASURE = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
kind, path = sys.argv[1], sys.argv[2]
from crawler.config.loader import ConfigError, load_config
from crawler.rules.loader import load_rules
t0 = time.perf_counter()
if kind == "config":
    try:
        load_config(path)
        msg = None
    except ConfigError as exc:
        msg = str(exc)
else:
    msg = "\n".join(str(p) for p in load_rules([path], strict=False)[1]) or None
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child of a big pytest
# process would report the parent's peak; VmHWM belongs to this process image alone.
with open("/proc/self/status") as fh:
    rss = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, "message": msg}))
"""

# Runs the CLI as its child: wall time and the CLI process's own peak RSS.
MEASURE_CLI = r"""
import json, resource, subprocess, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
t0 = time.perf_counter()
res = subprocess.run([sys.executable, "-m", "crawler", *sys.argv[1:]], capture_output=True,
                     text=True, timeout=120)
print(json.dumps({"seconds": time.perf_counter() - t0, "code": res.returncode,
                  "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "stdout": res.stdout, "stderr": res.stderr}))
"""


def measure(script: str, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                         timeout=180, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.splitlines()[-1])


def error_lines(res) -> list[str]:
    """stderr lines of a refused command, after checking nothing else leaked."""
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    return [ln for ln in res.stderr.splitlines() if ln.strip()]


def one_error(res, code: int = 2) -> str:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = error_lines(res)
    assert len(lines) == 1, lines
    return lines[0]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(textwrap.dedent(text), "d.yml")
    return [str(p) for p in exc.value.problems]


# ----------------------------------------------------------------------------- alias bombs
def test_config_alias_bomb_is_refused_fast_and_small(tmp_path, request):
    cfg = tmp_path / "bomb.yml"
    cfg.write_text(BOMB)
    got = measure(MEASURE, "config", str(cfg))
    figure(request, f"config alias bomb ({len(BOMB)} bytes): refused in {got['seconds'] * 1000:.1f} ms, "
                    f"process peak RSS {got['rss_mb']:.1f} MB")
    assert got["seconds"] < 1.0 and got["rss_mb"] < 100, got
    assert got["message"].startswith(f"{cfg}:{BOMB_AT[0]}:{BOMB_AT[1]}: YAML refused: "), got
    assert "nests aliases 4 deep (at most 3" in got["message"]

    ok = tmp_path / "ok.yml"
    ok.write_text(f"forums:\n  - {FORUM}\n")
    base = measure(MEASURE_CLI, "forums", "lint", "--config", str(ok))
    assert base["code"] == 0, base
    cli = measure(MEASURE_CLI, "forums", "lint", "--config", str(cfg))
    figure(request, f"`forums lint` on the bomb: exit {cli['code']} in {cli['seconds']:.2f} s "
                    f"(a valid config: {base['seconds']:.2f} s), peak RSS {cli['rss_mb']:.1f} MB")
    assert cli["code"] == 2 and cli["rss_mb"] < 100, cli
    assert cli["seconds"] < base["seconds"] + 1.0, (cli, base)  # the refusal adds nothing to start-up
    assert "Traceback" not in cli["stderr"] and cli["stdout"] == ""
    assert cli["stderr"].strip().splitlines() == [got["message"].join(("error: ", ""))]


def test_rule_file_alias_bomb_is_refused_fast_and_small(tmp_path, request):
    rules = tmp_path / "rules"
    rules.mkdir()
    bomb = rules / "bomb.yml"
    bomb.write_text(RULE_BOMB)
    got = measure(MEASURE, "rules", str(rules))
    figure(request, f"rule-file alias bomb ({len(RULE_BOMB)} bytes): refused in "
                    f"{got['seconds'] * 1000:.1f} ms, process peak RSS {got['rss_mb']:.1f} MB")
    assert got["seconds"] < 1.0 and got["rss_mb"] < 100, got
    # *k3 in w4 (line 11) is the first alias 4 deep
    assert got["message"].startswith(f"{bomb}:11:25: YAML refused: alias *k3 nests aliases 4 deep"), got

    cli = measure(MEASURE_CLI, "rules", "lint", str(rules))
    figure(request, f"`rules lint` on the bomb: exit {cli['code']} in {cli['seconds']:.2f} s, "
                    f"peak RSS {cli['rss_mb']:.1f} MB")
    assert cli["code"] == 2 and cli["rss_mb"] < 100, cli
    assert "Traceback" not in cli["stderr"]
    assert cli["stderr"].splitlines()[0] == got["message"]


def test_every_alias_bound_is_named_at_the_crossing_alias(monkeypatch):
    # count: 150 uses of a one-value anchor; the 101st is refused where it is written
    wide = "a: &a x\nb: [" + ", ".join("*a" for _ in range(150)) + "]\n"
    with pytest.raises(YamlError, match=r"more than 100 alias uses") as exc:
        load_documents(wide)
    assert (exc.value.line, exc.value.column, exc.value.kind) == (2, 5 + 4 * 100, "limit")
    # expansion: a 2000-value anchor used 20 times (shallow, few aliases, still 40 000 values)
    quad = "a: &a [" + ",".join(map(str, range(2000))) + "]\nb: [" + ",".join("*a" for _ in range(20)) + "]\n"
    with pytest.raises(YamlError, match=r"would expand to more than 10000 values \(at \*a\)") as exc:
        load_documents(quad)
    assert exc.value.line == 2
    # long strings weigh their length: 20 aliases of a 200 KB string are refused too
    big = "a: &a " + "x" * 200_000 + "\nb: [" + ",".join("*a" for _ in range(20)) + "]\n"
    with pytest.raises(YamlError, match=r"would expand to more than 10000 values"):
        load_documents(big)
    # an anchor holding its own alias would never finish expanding
    with pytest.raises(YamlError, match=r"alias \*a is used inside its own anchor") as exc:
        load_documents("a: &a [1, *a]\n")
    assert (exc.value.line, exc.value.column) == (1, 11)
    # nesting and value count
    with pytest.raises(YamlError, match=r"nested more than 64 levels deep"):
        load_documents("a: " + "[" * 100 + "]" * 100 + "\n")
    monkeypatch.setattr(yamlpos, "MAX_VALUES", 50)
    with pytest.raises(YamlError, match=r"more than 50 values in one file"):
        load_documents("a: [" + ",".join("1" for _ in range(60)) + "]\n")


def test_normal_anchors_and_merge_keys_still_work(tmp_path):
    cfg = tmp_path / "anchors.yml"
    cfg.write_text(textwrap.dedent("""\
        forums:
          - &base
            name: one
            engine: custom
            start_urls: ["http://127.0.0.1:1/board"]
            delay: 5
            selectors: &sel
              thread_row: tr.thread
              thread_link: a.title
              post: div.msg
              post_id: "::attr(id)"
              body: div.body
          - <<: *base
            name: two
            delay: 1
          - name: three
            engine: custom
            start_urls: ["http://127.0.0.1:1/other"]
            selectors: *sel
        """))
    loaded = load_config(cfg)
    one, two, three = loaded.forums
    assert (two.name, two.delay, two.start_urls) == ("two", 1.0, one.start_urls)
    assert two.selectors == one.selectors == three.selectors
    assert three.selectors.post == "div.msg"
    # the shipped pack writes its keyword lists once and aliases them (19 alias uses)
    assert "*" in (SHIPPED_RULES / "fr-health" / "health-leaks.yml").read_text()
    rules, found = load_rules([str(SHIPPED_RULES)], strict=False)
    assert found == [] and len(rules) >= 10


def test_file_size_is_capped_for_config_and_rules(tmp_path):
    big = tmp_path / "big.yml"
    big.write_text("# " + "x" * (1 << 20) + "\nforums: []\n")
    t0 = time.monotonic()
    msg = one_error(darkwatch("forums", "lint", "--config", str(big)))
    assert time.monotonic() - t0 < 60
    assert msg.startswith(f"error: {big}:1:1: YAML refused: file larger than 1 MiB"), msg
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "big.yml").write_bytes(big.read_bytes())
    found = load_rules([str(rules)], strict=False)[1]
    assert [str(p) for p in found] == [f"{rules / 'big.yml'}:1:1: YAML refused: file larger than "
                                       f"1 MiB (the limit for a YAML file darkwatch reads, "
                                       f"{big.stat().st_size} bytes here); split it or trim it"]


def test_presets_use_the_bounded_loader(tmp_path, monkeypatch):
    from crawler.engines import presets

    (tmp_path / "phpbb.yml").write_text(BOMB.replace("forums:", "selectors:"))
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    presets.load_preset.cache_clear()
    try:
        with pytest.raises(presets.PresetError, match=r"phpbb.yml:5:8: YAML refused: alias \*d nests"):
            presets.load_preset("phpbb")
    finally:
        presets.load_preset.cache_clear()


# ----------------------------------------------------------------------- syntax positions
def test_unclosed_brace_points_at_its_own_line_and_column(tmp_path):
    """Issue 18: an unclosed '{' on line 44, column 5 of a 44-line file was reported at 45:1."""
    lines = ["store:", "  sqlite: ./dw.db", "rules:", "  enabled: false", "forums:"]
    for i in range(6):
        lines += [f"  - name: forum-{i}", "    engine: phpbb", "    start_urls:",
                  f"      - http://127.0.0.1:1/viewforum.php?f={i}", "    delay: 0", "    timeout: 20"]
    lines += ["  - name: forum-custom", "    selectors:", "    {thread_row: tr.row"]
    assert len(lines) == 44 and lines[43][4] == "{"
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text("\n".join(lines) + "\n")
    msg = one_error(darkwatch("forums", "lint", "--config", str(cfg)))
    assert msg.startswith(f"error: {cfg}:44:5: YAML syntax error: the '{{' (flow mapping) that "
                          "starts here is never closed"), msg

    # a '[' closed nowhere, followed by more keys, and an unclosed quote: both at their opening
    assert problems("""\
        forums:
          - name: a
            start_urls: [http://127.0.0.1:1/a, http://127.0.0.1:1/b
            engine: phpbb
        """)[0].startswith("d.yml:3:17: YAML syntax error: the '[' (flow sequence) that starts "
                           "here is never closed (expected ',' or ']', but got ':' at line 4")
    assert problems('store:\n  sqlite: "dw.db\n')[0].startswith(
        "d.yml:2:11: YAML syntax error: the double-quoted string that starts here is never closed")


def test_rule_file_syntax_error_points_at_the_unclosed_token(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = textwrap.dedent("""\
        id: 0b7c3d2e-5f4a-4e4b-9c1d-2a3b4c5d6e7f
        name: broken
        title: broken
        level: high
        detection:
          patterns:
            words: {keywords: [leak, dump]
          condition: words
        """)
    (rules / "r.yml").write_text(rule)
    res = darkwatch("rules", "lint", str(rules))
    assert res.returncode == 2
    lines = error_lines(res)
    assert lines[0].startswith(f"{rules / 'r.yml'}:7:12: YAML syntax error: the '{{' (flow "
                               "mapping) that starts here is never closed (expected ',' or '}', "
                               "but got '<scalar>' at line 8, column 3)"), lines
    assert lines[1:] == ["1 problem(s) in the rule files"]
    # a bracket closed by the wrong one on the same line: there, naming the opening's column
    (rules / "r.yml").write_text(rule.replace("dump]", "dump}"))
    lines = error_lines(darkwatch("rules", "lint", str(rules)))
    assert lines[0].startswith(f"{rules / 'r.yml'}:7:34: YAML syntax error: expected ',' or ']', "
                               "but got '}' (inside the '[' (flow sequence) that starts at "
                               "column 23)"), lines


def test_yaml_oddities_are_one_line_errors_not_tracebacks():
    assert problems("? [1, 2]\n: v\n") == [
        "d.yml:1:3: YAML syntax error: a mapping key must be a plain value (a name or a number), "
        "not a list or a mapping (check indentation and quoting around this line)"]
    assert problems("forums:\n  - max_pages: " + "9" * 5000 + "\n")[0].startswith(
        "d.yml:2:16: YAML syntax error: invalid value: Exceeds the limit (4300 digits)")
    assert problems("a: &a 1\nb:\n  <<: *a\n")[0].startswith(
        "d.yml:1:4: YAML syntax error: '<<' merges mappings")
    assert problems("store:\n  sqlite: a\x07b\n")[0].startswith(
        "d.yml:2:12: YAML syntax error: character U+0007 is not allowed in YAML")


# ------------------------------------------------------------------------ config defects
def test_empty_config_is_not_ok_for_forums_lint(tmp_path):
    for name, text in (("empty.yml", ""), ("comments.yml", "# nothing yet\n"),
                       ("none.yml", "forums: []\n")):
        cfg = tmp_path / name
        cfg.write_text(text)
        msg = one_error(darkwatch("forums", "lint", "--config", str(cfg)))
        assert msg == (f"error: {cfg}: forums: no forum is configured, so nothing would be "
                       "monitored; add a 'forums:' list (README: Configuration)")


def test_duplicate_forum_name_points_at_the_duplicate(tmp_path):
    cfg = tmp_path / "dup.yml"
    cfg.write_text(f"store: {{sqlite: dw.db}}\nforums:\n  - {FORUM}\n"
                   f"  - {FORUM.replace('a,', 'b,')}\n  - {FORUM.replace('phpbb', 'mybb')}\n")
    msg = one_error(darkwatch("forums", "lint", "--config", str(cfg)))
    assert msg == (f"error: {cfg}:5:12: forums[2].name: forum name 'a' is used twice "
                   "(first at line 3); names must be unique")
    # with other defects in the same file, the duplicate is still reported, at its own line
    out = problems(f"forums:\n  - {FORUM}\n  - {{name: a, engine: nope, start_urls: []}}\n")
    assert "d.yml:3:12: forums[1].name: forum name 'a' is used twice (first at line 2)" in "\n".join(out)


def test_non_utf8_bytes_give_line_and_column(tmp_path):
    cfg = tmp_path / "latin1.yml"
    cfg.write_bytes(b"forums:\n  - name: a\n    engine: phpbb\n    start_urls: [\"http://127.0.0.1/caf\xe9\"]\n")
    msg = one_error(darkwatch("forums", "lint", "--config", str(cfg)))
    assert msg == (f"error: {cfg}:4:39: not UTF-8 text: byte 0xe9 (invalid continuation byte); "
                   "save the file as UTF-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    # the column counts characters: "é" before the bad byte is one column
    (rules / "r.yml").write_bytes(b"name: \xc3\xa9\ntitle: \xc3\xa9 \xff\n")
    found = [str(p) for p in load_rules([str(rules)], strict=False)[1]]
    assert found == [f"{rules / 'r.yml'}:2:10: not UTF-8 text: byte 0xff (invalid start byte); "
                     "save the file as UTF-8"]


def test_config_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "darkwatch.yml"
    import os

    os.mkfifo(fifo)
    msg = one_error(darkwatch("forums", "lint", "--config", str(fifo), timeout=60))
    assert msg == f"error: {fifo}:1:1: not a regular file (it is a FIFO (named pipe)); give a YAML file"


def test_out_of_range_duration_in_config_is_a_config_error(tmp_path):
    cfg = tmp_path / "every.yml"
    cfg.write_text(f"forums:\n  - {FORUM[:-1]}, every: 99999999999d}}\n")
    msg = one_error(darkwatch("forums", "lint", "--config", str(cfg)))
    assert msg.startswith(f"error: {cfg}:2:") and "forums[0].every" in msg
    assert "'99999999999d' is out of range: a duration is at most 36500 days (100 years)" in msg


def test_shipped_yaml_is_within_bounds():
    """The engine presets and the example configs compose under the bounds."""
    files = sorted((REPO / "crawler").rglob("*.yml")) + sorted((REPO / "deploy").glob("darkwatch*.yml"))
    assert len(files) >= 6, files
    for f in files:
        assert load_documents(yamlpos.read_text(f)), f
