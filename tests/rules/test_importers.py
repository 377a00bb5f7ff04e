"""``darkwatch rules import`` (FINESS extract, CSV of names) and ``rules watchlist``: registers and
an organisation's own assets compiled into rule files that lint, test and match like the pack."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crawler.rules.engine import RuleSet
from crawler.rules.loader import duplicate_keyword_warnings, load_rules
from tests.support.cli import darkwatch

DATA = Path(__file__).parent / "data"
FINESS = DATA / "finess-sample.csv"
WATCH = DATA / "watchlist-sample.yml"


def _fired(rules_dir: Path, text: str) -> set[str]:
    rs = RuleSet(load_rules([str(rules_dir)])[0])
    return {f.rule.loaded.rule.name for f in rs.evaluate({"text": text})}


def test_finess_import_keeps_the_lab_category_and_the_register_date(tmp_path):
    res = darkwatch("rules", "import", "finess", str(FINESS), "-o", str(tmp_path / "labs.yml"))
    assert res.returncode == 0, res.stderr
    assert "4 names" in res.stdout and "register of 2024-03-12" in res.stdout
    text = (tmp_path / "labs.yml").read_text()
    assert "date: 2024-03-12" in text and "register dated 2024-03-12" in text
    assert "CENTRE HOSPITALIER" not in text and "PHARMACIE" not in text  # other categories
    assert darkwatch("rules", "lint", str(tmp_path)).returncode == 0
    assert darkwatch("rules", "test", str(tmp_path)).returncode == 0
    assert _fired(tmp_path, "dump_LBM_BIOLAB_ARMOR_SITE_PAIMPOL_2024.sql") == {"finess-611"}
    # regex metacharacters in a register name are literal text
    assert _fired(tmp_path, "labo (c+) [analyses]* kernevez: export") == {"finess-611"}
    assert _fired(tmp_path, "LABO C ANALYSES KERNEVEZ") == set()


def test_finess_other_category_and_explicit_date(tmp_path):
    res = darkwatch("rules", "import", "finess", str(FINESS), "--category", "106",
                    "--register-date", "2024-01-01", "-o", str(tmp_path / "ch.yml"))
    assert res.returncode == 0, res.stderr
    assert "CENTRE HOSPITALIER PIERRE LE DAMANY" in (tmp_path / "ch.yml").read_text()


@pytest.mark.parametrize("content, line, words", [
    (b"finess;etalab;95;2024-03-12\nstructureet;1;2;LABO \xe9;x\n", 2, "latin-1"),
    (b"finess;etalab;95;2024-03-12\nfoo;bar\n", 2, "unexpected record type"),
    (b"finess;etalab;95;2024-03-12\nstructureet;1;2;LABO\n", 2, "at least 20"),
    (b"finess;etalab;95;12/03/2024\n", 1, "not a date"),
    (b"nom,ville\nA,B\n", 1, "unexpected record type"),
])
def test_finess_bad_input_is_one_clear_line(tmp_path, content, line, words):
    src = tmp_path / "bad.csv"
    src.write_bytes(content)
    res = darkwatch("rules", "import", "finess", str(src), "-o", str(tmp_path / "o.yml"))
    assert res.returncode == 2
    assert f"bad.csv:{line}:" in res.stderr and words in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.yml").exists()


def test_latin1_extract_imports_with_its_encoding(tmp_path):
    src = tmp_path / "old.csv"
    src.write_bytes(FINESS.read_text().replace("ARMOR SITE LANNION", "ARMOR SITE LANNION É")
                    .encode("latin-1"))
    res = darkwatch("rules", "import", "finess", str(src), "--encoding", "latin-1",
                    "-o", str(tmp_path / "o.yml"))
    assert res.returncode == 0, res.stderr
    assert "ARMOR SITE LANNION É" in (tmp_path / "o.yml").read_text(encoding="utf-8")


def test_names_csv_with_ambiguous_names_needs_context(tmp_path):
    src = tmp_path / "names.csv"
    src.write_text("name;ambiguous\nLabo Horizon Ouest;\nAzur;word (the colour, the coast)\n")
    res = darkwatch("rules", "import", "names", str(src), "--name", "my-labs",
                    "-o", str(tmp_path / "my.yml"))
    assert res.returncode == 0, res.stderr
    assert "2 names (1 ambiguous)" in res.stdout
    assert darkwatch("rules", "test", str(tmp_path)).returncode == 0
    assert _fired(tmp_path, "#LaboHorizonOuest") == set()          # one CamelCase word, no break
    assert _fired(tmp_path, "labo-horizon-ouest.sql") == {"my-labs"}
    assert _fired(tmp_path, "vacances sur la Côte d'Azur") == set()
    assert _fired(tmp_path, "Azur: fichier patients 2023") == {"my-labs"}


def test_names_csv_without_name_column_is_refused(tmp_path):
    src = tmp_path / "n.csv"
    src.write_text("label,city\nA,B\n")
    res = darkwatch("rules", "import", "names", str(src), "--name", "x", "-o", str(tmp_path / "o.yml"))
    assert res.returncode == 2 and "n.csv:1: no 'name' column" in res.stderr


def test_fifty_thousand_names_compile_in_seconds_and_split_files(tmp_path):
    src = tmp_path / "big.csv"
    src.write_text("name\n" + "\n".join(f"Laboratoire Synthétique Numéro {i:05d}" for i in range(50_000)))
    res = darkwatch("rules", "import", "names", str(src), "--name", "big", "-o", str(tmp_path / "big.yml"))
    assert res.returncode == 0, res.stderr
    files = sorted(tmp_path.glob("big-*.yml"))
    assert len(files) >= 2 and all(f.stat().st_size < 1 << 20 for f in files)
    t0 = time.monotonic()
    rules, problems = load_rules([str(tmp_path)], strict=False)
    rs = RuleSet(rules)
    elapsed = time.monotonic() - t0
    assert not problems and elapsed < 20, elapsed
    fired = {f.rule.loaded.rule.name for f in rs.evaluate({"text": "LABORATOIRE SYNTHETIQUE NUMERO 49999"})}
    assert fired == {files[-1].stem}


def test_lint_warns_about_a_name_in_two_categories(tmp_path, shipped_rules):
    src = tmp_path / "n.csv"
    src.write_text("name\nCerballiance\n")
    assert darkwatch("rules", "import", "names", str(src), "--name", "dup", "-o",
                     str(tmp_path / "dup.yml")).returncode == 0
    res = darkwatch("rules", "lint", str(tmp_path), "rules/")
    assert res.returncode == 0  # a warning, not an error
    assert "warning:" in res.stderr and "fr-medical-lab" in res.stderr
    assert "'cerballiance'" in res.stderr.lower()
    assert duplicate_keyword_warnings(shipped_rules) == []  # the pack itself has none


def test_watchlist_compiles_assets_into_one_rule(tmp_path):
    res = darkwatch("rules", "watchlist", str(WATCH), "-o", str(tmp_path / "watch.yml"))
    assert res.returncode == 0, res.stderr
    assert darkwatch("rules", "lint", str(tmp_path)).returncode == 0
    assert darkwatch("rules", "test", str(tmp_path)).returncode == 0
    for text in ("posted by BiolabArmor", "https://intranet.biolab-armor.example/login",
                 "combo: m.martin@biolab-armor.example:azerty", "rdp 192.0.2.9:3389 open",
                 "ArmorLIS admin creds", "Armor: résultats d'analyses de 2023"):
        assert _fired(tmp_path, text) == {"watch-biolab-armor"}, text
    for text in ("192.0.2.90", "Armor Lux pulls", "m.martin@example.org"):
        assert _fired(tmp_path, text) == set(), text


@pytest.mark.parametrize("body, line, words", [
    ("organisation: X\nbrand: [A]\n", 2, "unknown key 'brand'"),
    ("organisation: X\nip_ranges: [10.0.0.0/8]\n", 2, "at most 4096"),
    ("organisation: X\nip_ranges: [300.1.1.1]\n", 2, "ip_ranges:"),
    ("organisation: X\ndomains: ['http://x.org/a']\n", 2, "not a domain name"),
    ("brands: [A]\n", 1, "organisation: required"),
    ("organisation: X\nbrands: [A\n", 2, "YAML syntax error"),
])
def test_watchlist_bad_input(tmp_path, body, line, words):
    src = tmp_path / "w.yml"
    src.write_text(body)
    res = darkwatch("rules", "watchlist", str(src), "-o", str(tmp_path / "o.yml"))
    assert res.returncode == 2
    assert f"w.yml:{line}:" in res.stderr and words in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
