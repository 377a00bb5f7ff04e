"""Keyword word boundaries as leaks are written: file names, hashtags, mentions, URLs and paths,
CamelCase handles; and what still does not match (inside a lowercase word, glued to digits)."""

from __future__ import annotations

import pytest

from tests.support.rules import hits, ruleset

RULE = """
patterns:
  lab: {keywords: [biogroup, cerba, "cerba healthcare", hprim]}
"""


@pytest.fixture
def rs(tmp_path):
    return ruleset(tmp_path, RULE)


@pytest.mark.parametrize("text, found", [
    ("dump_biogroup_2021.sql", "biogroup"),                   # underscore in a file name
    ("biogroup-patients-2021.csv.gz", "biogroup"),            # dash in a file name
    ("export.biogroup.sql", "biogroup"),                      # dot in a file name
    ("dump_cerba_healthcare.tar", "cerba_healthcare"),        # multi-word name with underscores
    ("Cerba-Healthcare leak", "Cerba-Healthcare"),            # ... and with a dash
    ("#Biogroup #leak", "Biogroup"),                          # hashtag
    ("merci @cerba pour le dump", "cerba"),                   # mention
    ("http://xx.onion/exports/cerba/patients.csv", "cerba"),  # URL path
    ("C:\\exports\\biogroup\\2021", "biogroup"),              # Windows path
    ("https://www.biogroup.fr/resultats", "biogroup"),        # domain
    ("posted by BiogroupLeaks", "Biogroup"),                  # CamelCase handle, name first
    ("posted by LeakCerba", "Cerba"),                         # CamelCase handle, name last
    ("SQLCerbaDump", "Cerba"),                                # acronym then name
    ("HPRIMExport", "HPRIM"),                                 # name acronym then word
])
def test_leak_spellings_match(rs, text, found):
    assert ("lab", found) in hits(rs, text)


@pytest.mark.parametrize("text", [
    "cerbalance",            # a longer lowercase word
    "xcerba",                # glued lowercase prefix
    "biogroups",             # plural/suffix in lowercase
    "biogroup2021.sql",      # glued to digits: digits continue a word
    "2021biogroup",
    "CERBALEAKS",            # all capitals: no CamelCase break
    "Cerbatana",             # capital only at the start of the word
])
def test_inside_words_does_not_match(rs, text):
    assert hits(rs, text) == []


def test_offsets_point_at_the_original_text(rs):
    text = "fichier_Cerba_Healthcare_2021"
    assert hits(rs, text) == [("lab", "Cerba"), ("lab", "Cerba_Healthcare")]
