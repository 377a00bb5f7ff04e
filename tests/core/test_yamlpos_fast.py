"""libyaml's parser (the fast path of crawler.yamlpos) gives exactly what PyYAML's gives.

The fast path is most of a scan's start-up saved; it must never change a value, a position or
an error. Checked on every YAML file shipped, on seeded random mutations of them (the way the
inputs where the two parsers differ were found), and on those inputs themselves.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crawler import yamlpos

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for d in ("rules", "deploy", "crawler") for p in (REPO / d).rglob("*.y*ml"))
# mutations that reach the places where the parsers disagree, and ordinary ones
PIECES = list(":-[]{}'\"#&*!|>%@` \t\n,?") + ["  ", "\n  ", "- ", ": ", "\ufeff", "é", "\x85",
                                               "\u2028", "? ", "[a: b]", "{a ?b}"]


def _result(nodes_or_error):
    """What load_documents makes of a parse: (data, positions) per document, or the error."""
    if isinstance(nodes_or_error, Exception):
        return ("error", str(nodes_or_error))
    ctor = yamlpos.yaml.SafeLoader("")
    out = []
    try:
        for node in nodes_or_error:
            doc = yamlpos.LocatedDoc(None)
            doc.data = yamlpos._build(node, (), doc.lines, ctor)
            out.append((doc.data, doc.lines))
    except yamlpos.YamlError as exc:  # built from either parse alike: the same error
        return ("build error", str(exc), exc.line, exc.column)
    return out


def _slow(text: str):
    try:
        return yamlpos._nodes(text)
    except yamlpos.YamlError as exc:
        return exc


def test_the_shipped_files_take_the_fast_path_and_give_the_same_trees():
    assert len(SHIPPED) >= 10
    fast_used = 0
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        fast = yamlpos._fast_nodes(text)
        if fast is None:
            continue
        fast_used += 1
        assert _result(fast) == _result(_slow(text)), path
    rule_files = [p for p in SHIPPED if p.parts[-3:-1] == ("rules", "fr-health")]
    assert rule_files and all(yamlpos._fast_nodes(p.read_text(encoding="utf-8")) is not None
                              for p in rule_files)
    assert fast_used >= len(rule_files)


def test_mutations_never_parse_differently():
    rng = random.Random(7)
    texts = [p.read_text(encoding="utf-8") for p in SHIPPED]
    took_fast = 0
    for _ in range(1500):
        t = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            p = rng.randrange(len(t))
            op = rng.random()
            if op < 0.4:
                t = t[:p] + rng.choice(PIECES) + t[p:]
            elif op < 0.7:
                t = t[:p] + t[p + rng.randint(1, 5):]
            else:
                q = rng.randrange(len(t))
                t = t[:p] + t[q:q + rng.randint(1, 30)] + t[p:]
        fast = yamlpos._fast_nodes(t)
        if fast is None:
            continue  # the pure-Python path decides, as before
        took_fast += 1
        assert _result(fast) == _result(_slow(t)), t
    assert took_fast > 300  # the comparison did run on many accepted files


@pytest.mark.parametrize("text", [
    "a:\n\tb: 1\n",               # a tab: libyaml accepts some PyYAML refuses
    "\ufeffa: 1\nb: [x]\n",       # a byte-order mark: columns counted differently
    "tags: [a, b: c]\n",          # a mapping inside a flow sequence: positions differ
    "tags: [? a]\n",
    "k: {a ?b}\n",                # "?" in a flow scalar: libyaml accepts, PyYAML refuses
    "k: a?b\n",                   # "?" in a plain scalar: left to PyYAML, to be safe
])
def test_where_the_parsers_differ_pyyaml_decides(text):
    assert yamlpos._fast_nodes(text) is None
    try:
        expected = yamlpos.load_documents(text)
    except yamlpos.YamlError as exc:
        assert str(exc) == str(_slow(text))
    else:
        assert [(d.data, d.lines) for d in expected] == _result(_slow(text))


def test_quoted_question_marks_still_take_the_fast_path():
    text = "regex: '(?i)\\bfoo(?:bar)?'\nurl: \"http://x/?a=1\"\nnote: |\n  why?\n"
    assert yamlpos._fast_nodes(text) is not None
    assert _result(yamlpos._fast_nodes(text)) == _result(_slow(text))
