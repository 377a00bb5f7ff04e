"""``darkwatch rules lint|test|list`` and ``darkwatch fingerprint``: exit codes and file:line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rules import ROOT, SHIPPED, write_rule

HEAD = "id: {id}\nname: {name}\ntitle: t\nlevel: high\n"
ID1 = "11111111-1111-4111-8111-111111111111"
ID2 = "22222222-2222-4222-8222-222222222222"


def dw(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True,
                          cwd=ROOT, input=stdin, env={**os.environ, **(env or {})}, timeout=120)


def test_shipped_packs_lint_and_test_green():
    lint = dw("rules", "lint", SHIPPED)
    assert lint.returncode == 0, lint.stderr
    test = dw("rules", "test", SHIPPED)
    assert test.returncode == 0, test.stdout
    assert " 0 failed" in test.stdout


def test_shipped_pack_has_the_required_rules():
    out = dw("rules", "list", SHIPPED).stdout
    for name in ("fr-nir", "fr-nir-bulk", "fr-health-leak", "fr-medical-lab",
                 "fr-lab-software-vendor", "leak-sale-vocabulary", "fr-health-fields"):
        assert f"/{name} " in out


def test_schema_json_is_up_to_date():
    assert (ROOT / "rules" / "schema.json").read_text() == dw("rules", "schema").stdout
    json.loads((ROOT / "rules" / "schema.json").read_text())


BROKEN = {
    "syntax.yml": (HEAD + "detection:\n  patterns:\n    x: {keywords: [a\n", 7, "YAML syntax error"),
    "missing.yml": ("id: " + ID1 + "\nname: m\ntitle: t\ndetection:\n  patterns:\n    x: {keywords: [a]}\n",
                    1, "level: required key is missing"),
    "validator.yml": (HEAD + "detection:\n  patterns:\n    x:\n      regex: 'a+'\n      validator: nirr\n",
                      9, "unknown validator 'nirr'"),
    "backref.yml": (HEAD + "detection:\n  patterns:\n    x:\n      regex: '(ab)\\1'\n", 8,
                    "no backreferences"),
    "empty.yml": (HEAD + "detection:\n  patterns:\n    x:\n      keywords: []\n", 8,
                  "keyword list is empty"),
    "cond.yml": (HEAD + "detection:\n  patterns:\n    x: {keywords: [a]}\n  condition: x and y\n", 8,
                 "unknown pattern 'y'"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_rule_file_reports_file_line_and_exit_2(tmp_path, name):
    body, line, msg = BROKEN[name]
    path = write_rule(tmp_path, name, body.replace("{id}", ID1).replace("{name}", "r-" + name[:-4]))
    out = dw("rules", "lint", str(path))
    assert out.returncode == 2
    assert f"{path}:{line}:" in out.stderr and msg in out.stderr, out.stderr
    # scan and test refuse the same rule set
    assert dw("rules", "test", str(path)).returncode == 2


def test_duplicate_ids_across_files(tmp_path):
    rule = HEAD + "detection:\n  patterns:\n    x: {keywords: [a]}\n"
    write_rule(tmp_path, "a.yml", rule.replace("{id}", ID1).replace("{name}", "a"))
    write_rule(tmp_path, "b.yml", rule.replace("{id}", ID1).replace("{name}", "b"))
    out = dw("rules", "lint", str(tmp_path))
    assert out.returncode == 2
    assert f"{tmp_path / 'b.yml'}:1:1: duplicate rule id" in out.stderr


def test_failing_inline_test_exits_1(tmp_path):
    rule = HEAD.replace("{id}", ID2).replace("{name}", "t") + (
        "detection:\n  patterns:\n    x: {keywords: [alpha]}\n"
        "tests:\n  match: [alpha, beta]\n  no_match: [gamma]\n")
    path = write_rule(tmp_path, "t.yml", rule)
    out = dw("rules", "test", str(path))
    assert out.returncode == 1
    assert "FAILED" in out.stdout and "match[1]" in out.stdout and "2 passed, 1 failed" in out.stdout


def test_multi_document_and_list_files(tmp_path):
    one = HEAD + "detection:\n  patterns:\n    x: {keywords: [a]}\n"
    write_rule(tmp_path, "multi.yml", one.replace("{id}", ID1).replace("{name}", "a") + "---\n"
                + one.replace("{id}", ID2).replace("{name}", "b"))
    out = dw("rules", "lint", str(tmp_path))
    assert out.returncode == 0 and "2 rules" in out.stdout


def test_fingerprint_cli_matches_scan(tmp_path):
    env = {"DARKWATCH_FINGERPRINT_KEY": "k1"}
    fp = dw("fingerprint", "1 85 05 78 006 084 clé 91", env=env)
    assert fp.returncode == 0
    f = tmp_path / "d.txt"
    f.write_text("x 185057800608491\n")
    scan = dw("scan", str(f), "-f", "jsonl", "--rule", "fr-nir", env=env)
    rows = [json.loads(x) for x in scan.stdout.splitlines()]
    assert rows[0]["fingerprint"] == fp.stdout.strip()
    # a different key gives a different fingerprint; stdin input works
    other = dw("fingerprint", env={"DARKWATCH_FINGERPRINT_KEY": "k2"}, stdin="185057800608491\n")
    assert other.returncode == 0 and other.stdout.strip() != fp.stdout.strip()


def test_fingerprint_without_key_fails_clearly():
    env = {k: v for k, v in os.environ.items() if k != "DARKWATCH_FINGERPRINT_KEY"}
    out = subprocess.run([sys.executable, "-m", "crawler", "fingerprint", "185057800608491"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 2 and "DARKWATCH_FINGERPRINT_KEY" in out.stderr


def test_scan_without_key_warns_and_uses_ephemeral(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("185057800608491\n")
    env = {k: v for k, v in os.environ.items() if k != "DARKWATCH_FINGERPRINT_KEY"}
    out = subprocess.run([sys.executable, "-m", "crawler", "scan", str(f)], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 0 and "random key" in out.stderr and "fr-nir" in out.stdout


def test_rules_library_does_not_import_scrapy():
    code = ("import sys, crawler.rules.post, crawler.rules.scan, crawler.cli.rules, crawler.cli.scan;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')];"
            "assert not bad, bad")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_scan_missing_path(tmp_path):
    out = dw("scan", str(tmp_path / "nope"), env={"DARKWATCH_FINGERPRINT_KEY": "k"})
    assert out.returncode == 2 and "no such file" in out.stderr


def test_scan_reveal_shows_value_only_when_asked(tmp_path):
    f = Path(tmp_path / "d.txt")
    f.write_text("185057800608491\n")
    env = {"DARKWATCH_FINGERPRINT_KEY": "k"}
    plain = dw("scan", str(f), "-f", "jsonl", env=env).stdout
    shown = dw("scan", str(f), "-f", "jsonl", "--reveal", env=env).stdout
    assert "185057800608491" not in plain and '"value": "185057800608491"' in shown


def test_shipped_rule_files_validate_against_the_published_schema():
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "rules" / "schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted((ROOT / "rules").rglob("*.yml"))
    assert files
    for f in files:
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            # YAML dates are date objects; JSON Schema sees them as strings.
            data = json.loads(json.dumps(doc, default=str))
            errors = list(validator.iter_errors(data))
            assert not errors, f"{f}: {errors[0].message}"
    bad = {"id": "x", "name": "Bad Name", "title": "t", "level": "urgent", "detection": {}}
    assert list(validator.iter_errors(bad))


def test_the_crawl_path_does_not_import_numpy():
    """numpy serves dump scans only (bulk NIRs, summary arrays): a crawl started by cron every
    few minutes evaluates posts without loading it."""
    code = ("import sys, crawler.crawl, crawler.pipelines, crawler.rules.post, crawler.rules.engine;"
            "assert 'numpy' not in sys.modules, 'numpy imported on the crawl path'")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
