"""Keyword folding and boundaries, regex + validators, conditions, excludes, offsets."""

from __future__ import annotations

import pytest

from crawler.rules.condition import ConditionSyntaxError, parse_condition
from crawler.rules.normalize import fold
from tests.support.rules import hits, ruleset


def test_fold_maps_offsets_back():
    text = "Le labo ÉVRY-Straße ﬁn cafe\u0301!"
    f = fold(text)
    for word, original in (("evry", "ÉVRY"), ("strasse", "Straße"), ("fin", "ﬁn"), ("cafe", "cafe\u0301")):
        i = f.text.index(word)
        assert text[f.to_original(i):f.to_original(i + len(word), end=True)] == original


def test_keywords_case_accents_words(tmp_path):
    rs = ruleset(tmp_path, """
patterns:
  lab: {keywords: [Cerballiance, "médecin traitant", Dédalus]}
""")
    assert hits(rs, "CERBALLIANCE, Medecin\nTraitant et dedalus") == [
        ("lab", "CERBALLIANCE"), ("lab", "Medecin\nTraitant"), ("lab", "dedalus")]
    assert hits(rs, "xcerballiance cerballiancey dedalusé") == []
    assert hits(rs, "à Dédalus.") == [("lab", "Dédalus")]


def test_case_and_accent_sensitive(tmp_path):
    rs = ruleset(tmp_path, """
patterns:
  a: {keywords: [MIPS], case: sensitive}
  b: {keywords: [rhésus], accents: sensitive}
""")
    assert hits(rs, "mips MIPS rhesus Rhésus") == [("a", "MIPS"), ("b", "Rhésus")]


def test_word_false_matches_inside_words(tmp_path):
    rs = ruleset(tmp_path, "patterns:\n  a: {keywords: [lab], word: false}")
    assert hits(rs, "biolabs") == [("a", "lab")]


def test_regex_with_validator_and_mask(tmp_path):
    rs = ruleset(tmp_path, r"""
patterns:
  card: {regex: '\b(?:\d[ -]?){12,18}\d\b', validator: luhn}
""")
    doc = {"text": "carte 4970 1012 3456 7893 et 4970 1012 3456 7890"}
    (firing,) = rs.evaluate(doc)
    assert [h.masked for _f, _p, h in firing.hits] == ["************7893"]
    assert firing.hits[0][2].canonical == "4970101234567893"


def test_conditions(tmp_path):
    rs = ruleset(tmp_path, """
patterns:
  lab: {keywords: [biogroup]}
  nir: {detector: fr-nir}
condition: lab near nir within 20 chars
""")
    assert hits(rs, "biogroup: 185057800608491")
    assert not hits(rs, "biogroup" + "." * 40 + "185057800608491")
    assert not hits(rs, "185057800608491", title="biogroup")  # different fields


def test_count_is_distinct_values(tmp_path):
    rs = ruleset(tmp_path, "patterns:\n  nir: {detector: fr-nir}\ncondition: nir >= 2")
    assert not hits(rs, "185057800608491 1 85 05 78 006 084 91")  # one person twice
    assert hits(rs, "185057800608491 293027512345668")


def test_exclude_and_not(tmp_path):
    rs = ruleset(tmp_path, """
patterns:
  leak: {keywords: [dump]}
  news: {keywords: [article]}
exclude:
  pr: {keywords: [press release]}
condition: leak and not news
""")
    assert hits(rs, "fresh dump")
    assert not hits(rs, "article about a dump")
    assert not hits(rs, "press release: no dump")


def test_of_syntax(tmp_path):
    rs = ruleset(tmp_path, """
patterns:
  a: {keywords: [alpha]}
  b: {keywords: [beta]}
  c: {keywords: [gamma]}
condition: 2 of them and all of (a, b)
""")
    assert hits(rs, "alpha beta")
    assert not hits(rs, "alpha gamma")


@pytest.mark.parametrize("cond,msg", [
    ("lab and", "ends too early"), ("lab near nir", "within"), ("unknown", "unknown pattern"),
    ("lab >= x", "a number"), ("", "empty"), ("lab nir", "unexpected"),
])
def test_condition_errors(cond, msg):
    with pytest.raises(ConditionSyntaxError) as exc:
        parse_condition(cond, ["lab", "nir"])
    assert msg in str(exc.value)


def test_fields_selector(tmp_path):
    rs = ruleset(tmp_path, "patterns:\n  a: {keywords: [bob]}\nfields: [author]")
    assert hits(rs, "bob", author="alice") == []
    assert hits(rs, "x", author="Bob") == [("a", "Bob")]


def test_non_ascii_offsets_for_regex_and_detectors(tmp_path):
    rs = ruleset(tmp_path, r"""
patterns:
  nir: {detector: fr-nir}
  word: {regex: 'Zoë\w*'}
""")
    text = "Élodie Zoëlle ✓ 𝔘𝔫𝔦 n° 185057800608491"
    assert hits(rs, text) == [("word", "Zoëlle"), ("nir", "185057800608491")]


def test_a_regex_without_case_ignores_case_as_the_schema_says(tmp_path):
    """Defect: the schema's default ``case: insensitive`` was applied to keywords only, so
    ``regex: 'secret'`` did not match "SECRET"."""
    rs = ruleset(tmp_path, """
fields: [text]
patterns:
  plain: {regex: 'secret\\d+'}
  strict: {regex: 'TOP\\d+', case: sensitive}
condition: plain or strict
""")
    assert hits(rs, "the SECRET42 file") == [("plain", "SECRET42")]
    assert hits(rs, "top42 only") == []
    assert hits(rs, "TOP42 only") == [("strict", "TOP42")]
