"""Turn authoritative lists into keyword rule files: the FINESS register, a CSV of names, and an
organisation's own watchlist.

Hand-written name lists go stale (lab groups merge and rename every year); a published register
does not. Each importer writes an ordinary rule file (lint, test and review it like any other),
with the register's date in the rule (``date`` and the description) so an analyst knows how old
the list is. Rule ids are derived from the rule name, so a re-import updates the same rule.

Names are literal keywords (Aho-Corasick, never a regex), so regex metacharacters in names are
harmless. A long list is split over several files: darkwatch reads YAML files of at most 1 MiB.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from crawler.rules.normalize import fold_keyword
from crawler.vocabulary import LEVELS

_NS = uuid.UUID("6f1d2c3b-8a4e-4f5d-9c7b-2e1a0b3c4d5e")  # namespace of generated rule ids
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,50}$")
MAX_FILE_BYTES = 900_000  # under the 1 MiB YAML limit, with room for the header
FINESS_LAB_CATEGORY = "611"  # FINESS catégorie d'établissement: Laboratoire de Biologie Médicale
# etalab FINESS extract, "structureet" rows: section;nofinesset;nofinessej;rs;rslongue;...;
# categetab (19th field);libcategetab (20th).
_F_NOFINESS, _F_RS, _F_RSLONGUE, _F_CATEG, _F_LIBCATEG = 1, 3, 4, 18, 19
_FINESS_MIN_FIELDS = 20


class RegisterError(ValueError):
    """A register or watchlist that cannot be used: ``file:line: what is wrong``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")


@dataclass(slots=True)
class NameList:
    """What an import produced, before it is written as rules."""

    slug: str
    title: str
    names: list[str]
    ambiguous: list[str] = field(default_factory=list)
    register_date: dt.date | None = None
    source: str = ""
    tags: list[str] = field(default_factory=list)
    level: str = "low"


def _read_text(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = (" (if the file is Latin-1, as older FINESS extracts may be: add --encoding latin-1)"
                if encoding.lower().replace("-", "") == "utf8" else "")
        raise RegisterError(str(path), line, f"not {encoding} text: byte 0x{data[exc.start]:02x}"
                           f"{hint}") from None
    except LookupError:
        raise RegisterError(str(path), 1, f"unknown encoding {encoding!r} "
                           "(use utf-8 or latin-1)") from None
    return text.lstrip("\ufeff")


def _date(value: str, file: str, line: int) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise RegisterError(file, line, f"register date {value!r} is not a date "
                           "(YYYY-MM-DD)") from None


def read_finess(path: Path, category: str = FINESS_LAB_CATEGORY, encoding: str = "utf-8",
                register_date: dt.date | None = None) -> NameList:
    """Establishment names of one FINESS category from an etalab extract.

    Layout: a first line ``finess;etalab;<version>;<date>``, then ``structureet;...`` rows (one
    per establishment) and ``geolocalisation;...`` rows (ignored), ``;``-separated.
    """
    file = str(path)
    text = _read_text(path, encoding)
    names: dict[str, None] = {}
    label = ""
    rows = 0
    for n, row in enumerate(csv.reader(text.splitlines(), delimiter=";"), 1):
        if not row or not any(c.strip() for c in row):
            continue
        kind = row[0].strip().lower()
        if n == 1 and kind == "finess":
            if len(row) >= 4 and register_date is None:
                register_date = _date(row[3], file, n)
            continue
        if kind == "geolocalisation":
            continue
        if kind != "structureet":
            raise RegisterError(file, n, f"unexpected record type {row[0][:40]!r}: a FINESS etalab "
                               "extract has 'structureet' and 'geolocalisation' rows (wrong file?)")
        if len(row) < _FINESS_MIN_FIELDS:
            raise RegisterError(file, n, f"{len(row)} fields, a 'structureet' row has at least "
                               f"{_FINESS_MIN_FIELDS} (';'-separated; wrong layout?)")
        rows += 1
        if row[_F_CATEG].strip() != category:
            continue
        label = label or row[_F_LIBCATEG].strip()
        for col in (_F_RS, _F_RSLONGUE):
            name = " ".join(row[col].split())
            if name:
                names.setdefault(name, None)
    if not rows:
        raise RegisterError(file, 1, "no 'structureet' rows: not a FINESS etalab extract")
    if not names:
        raise RegisterError(file, 1, f"no establishment of category {category} among {rows} "
                           "(check --category)")
    if register_date is None:
        raise RegisterError(file, 1, "no register date in the first line: give --register-date")
    what = label or f"category {category}"
    return NameList(f"finess-{category}", f"FINESS establishments: {what}", list(names),
                    register_date=register_date, source=f"FINESS extract {path.name}",
                    tags=["data.health", "register.finess", "country.fr"])


def read_names_csv(path: Path, slug: str, title: str | None = None, encoding: str = "utf-8",
                   register_date: dt.date | None = None) -> NameList:
    """A CSV with a ``name`` column (``,`` or ``;``), optional ``ambiguous`` (non-empty: the name
    is also an ordinary word or a person and needs health context nearby)."""
    file = str(path)
    text = _read_text(path, encoding)
    lines = text.splitlines()
    if not lines:
        raise RegisterError(file, 1, "empty file: a header line with a 'name' column is needed")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delim)
    header = [h.strip().lower() for h in next(reader)]
    if "name" not in header:
        raise RegisterError(file, 1, f"no 'name' column in the header {header[:6]} "
                           "(the first line names the columns, e.g. name,ambiguous)")
    i_name, i_amb = header.index("name"), header.index("ambiguous") if "ambiguous" in header else -1
    names: dict[str, None] = {}
    ambiguous: dict[str, None] = {}
    for n, row in enumerate(reader, 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) <= i_name:
            raise RegisterError(file, n, f"{len(row)} fields, the 'name' column is #{i_name + 1}")
        name = " ".join(row[i_name].split())
        if not name or not fold_keyword(name, True, True):
            raise RegisterError(file, n, "empty name (no letter or digit)")
        amb = i_amb >= 0 and len(row) > i_amb and row[i_amb].strip().lower() not in ("", "no", "0",
                                                                                    "false")
        (ambiguous if amb else names).setdefault(name, None)
    if not names and not ambiguous:
        raise RegisterError(file, 1, "no names")
    return NameList(slug, title or f"Names from {path.name}", list(names), list(ambiguous),
                    register_date=register_date, source=path.name, tags=["watch.names"])


# --- watchlists -----------------------------------------------------------------------------

WATCH_KEYS = {"organisation", "date", "level", "brands", "domains", "email_domains", "products",
              "ip_ranges", "ambiguous"}
MAX_WATCH_ADDRESSES = 4096  # a /20 at most: IP ranges become literal keywords


def _str_list(data: dict[str, Any], key: str, file: str,
              where: Callable[[tuple[str | int, ...]], tuple[int, int]]) -> list[str]:
    v = data.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise RegisterError(file, where((key,))[0], f"{key}: a list of non-empty strings")
    return [" ".join(x.split()) for x in v]


@dataclass(slots=True)
class Watchlist:
    organisation: str
    slug: str
    level: str
    date: dt.date | None
    brands: list[str]
    products: list[str]
    domains: list[str]
    email_domains: list[str]
    addresses: list[str]
    ambiguous: list[str]


def read_watchlist(path: Path) -> Watchlist:
    """A short YAML of an organisation's own assets (see rules/README.md, "Watchlists")."""
    from crawler.yamlpos import YamlError, load_documents, read_text

    file = str(path)
    try:
        docs = load_documents(read_text(path))
    except YamlError as exc:
        raise RegisterError(file, exc.line, exc.describe()) from None
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise RegisterError(file, 1, "a watchlist is one YAML mapping (organisation:, brands:, ...)")
    doc, data = docs[0], docs[0].data
    for key in data:
        if key not in WATCH_KEYS:
            raise RegisterError(file, doc.key_where((key,))[0], f"unknown key {key!r} (known: "
                               f"{', '.join(sorted(WATCH_KEYS))})")
    org = data.get("organisation")
    if not isinstance(org, str) or not org.strip():
        raise RegisterError(file, 1, "organisation: required (the name of the organisation)")
    slug = re.sub(r"[^a-z0-9]+", "-", fold_keyword(org, True, True)).strip("-")[:40] or "org"
    level = str(data.get("level", "high"))
    if level not in LEVELS:
        raise RegisterError(file, doc.where(("level",))[0], f"level: {level!r} is not one of "
                           f"{', '.join(LEVELS)}")
    date = data.get("date")
    if date is not None and not isinstance(date, dt.date):
        date = _date(str(date), file, doc.where(("date",))[0])
    lists = {k: _str_list(data, k, file, doc.where) for k in
             ("brands", "products", "domains", "email_domains", "ip_ranges", "ambiguous")}
    for i, d in enumerate(lists["domains"] + lists["email_domains"]):
        if not re.fullmatch(r"(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", d):
            key = "domains" if i < len(lists["domains"]) else "email_domains"
            raise RegisterError(file, doc.where((key,))[0], f"{key}: {d!r} is not a domain name "
                               "(e.g. example.org, without scheme or path)")
    addresses: list[str] = []
    for k, cidr in enumerate(lists["ip_ranges"]):
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise RegisterError(file, doc.where(("ip_ranges", k))[0], f"ip_ranges: {exc}") from None
        if net.num_addresses > MAX_WATCH_ADDRESSES:
            raise RegisterError(file, doc.where(("ip_ranges", k))[0], f"ip_ranges: {cidr} has "
                               f"{net.num_addresses} addresses; at most {MAX_WATCH_ADDRESSES} "
                               "(split it into the ranges you expose)")
        addresses.extend(str(a) for a in (net if net.num_addresses == 1 else net.hosts()))
    if not any(lists[k] for k in lists):
        raise RegisterError(file, 1, "nothing to watch: give brands, domains, email_domains, "
                           "products, ip_ranges or ambiguous")
    return Watchlist(org.strip(), slug, level, date, lists["brands"], lists["products"],
                     lists["domains"], lists["email_domains"], addresses, lists["ambiguous"])


# --- writing rule files ---------------------------------------------------------------------


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _block(items: Iterable[str], indent: int) -> str:
    pad = " " * indent
    return "\n".join(f"{pad}- {_q(x)}" for x in items)


def rule_id(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


def _chunks(names: list[str], budget: int) -> list[list[str]]:
    out: list[list[str]] = [[]]
    size = 0
    for n in names:
        cost = len(_q(n).encode()) + 14
        if out[-1] and size + cost > budget:
            out.append([])
            size = 0
        out[-1].append(n)
        size += cost
    return out


def _decoy(name: str) -> str:
    """A string that contains the name glued inside a word: must not match."""
    return f"x{fold_keyword(name, True, True).replace(' ', '')}x"


def health_context(pack: str | None = None) -> list[str]:
    """The pack's health-context words (``fr-medical-lab``'s ``context`` pattern): ambiguous
    imported names need one of them nearby, like the pack's own ambiguous names."""
    from crawler.rules.loader import load_rules
    from crawler.shipped import SHIPPED_RULES

    rules, _ = load_rules([pack or str(SHIPPED_RULES)], strict=False)
    for lr in rules:
        ctx = lr.rule.detection.patterns.get("context")
        if lr.rule.name == "fr-medical-lab" and ctx and ctx.keywords:
            return list(ctx.keywords)
    raise ValueError("the shipped pack has no fr-medical-lab context list")


def name_rules(nl: NameList, context: list[str] | None = None) -> list[tuple[str, str]]:
    """``[(file suffix, YAML text)]``: one rule per file, the list split to fit the YAML limit."""
    if not _SLUG.match(nl.slug):
        raise ValueError(f"rule name {nl.slug!r}: lowercase letters, digits, '-' or '_'")
    when = nl.register_date.isoformat() if nl.register_date else dt.date.today().isoformat()
    parts = _chunks(nl.names, MAX_FILE_BYTES) if nl.names else [[]]
    out = []
    for k, names in enumerate(parts, 1):
        name = nl.slug if len(parts) == 1 else f"{nl.slug}-{k}"
        amb = nl.ambiguous if k == 1 else []
        dated = f"register dated {when}" if nl.register_date else f"imported {when}"
        pats = []
        cond = []
        if names:
            pats.append(f"      name:\n        keywords:\n{_block(names, 10)}")
            cond.append("name")
        if amb:
            pats.append(f"      name_ambiguous:   # also an ordinary word or a person: needs context\n"
                        f"        keywords:\n{_block(amb, 10)}\n"
                        f"      context:\n        keywords:\n{_block(context or [], 10)}")
            cond.append("name_ambiguous near context within 100 chars")
        sample = names[0] if names else amb[0]
        match = [f"{sample} : export"] if names else [f"{sample} : fichier patients"]
        no_match = [_decoy(sample)] + ([amb[0]] if amb else [])
        text = (
            f"# Generated by `darkwatch rules import` from {nl.source} ({dated}).\n"
            f"# Edit the source list and re-import rather than this file.\n"
            f"- id: {rule_id(name)}\n  name: {name}\n  title: {_q(nl.title)}\n"
            f"  description: {_q(f'{nl.title}. {len(names) + len(amb)} names from {nl.source}, {dated}.')}\n"
            f"  author: darkwatch rules import\n  date: {when}\n  status: test\n"
            f"  level: {nl.level}\n  tags: {json.dumps(nl.tags)}\n"
            f"  references: [{_q(nl.source)}]\n"
            f"  detection:\n    patterns:\n" + "\n".join(pats) + "\n"
            f"    condition: {' or '.join(cond)}\n    fields: [text, title]\n"
            f"  tests:\n    match:\n{_block(match, 6)}\n    no_match:\n{_block(no_match, 6)}\n")
        out.append(("" if len(parts) == 1 else f"-{k}", text))
    return out


def watchlist_rule(w: Watchlist, context: list[str]) -> str:
    """One rule that fires on any of the organisation's assets."""
    name = f"watch-{w.slug}"
    pats, cond, match, no_match = [], [], [], []
    kw = {"brand": w.brands, "product": w.products, "domain": w.domains, "address": w.addresses}
    for pname, items in kw.items():
        if items:
            pats.append(f"      {pname}:\n        keywords:\n{_block(items, 10)}")
            cond.append(pname)
            match.append(f"leak of {items[0]} data")
            if pname != "address":
                no_match.append(_decoy(items[0]))
    if w.email_domains:
        alts = "|".join(re2.escape(d) for d in w.email_domains)
        rx = r"(?i)\b[a-z0-9._%+\-]{1,64}@(?:[a-z0-9\-]+\.)*(?:" + alts + r")\b"
        pats.append(f"      email:\n        regex: {_q(rx)}\n        mask: true")
        cond.append("email")
        match.append(f"creds: j.doe@{w.email_domains[0]}:hunter2")
        no_match.append("j.doe@unrelated.example: account list")
    if w.ambiguous:
        pats.append(f"      ambiguous:   # also an ordinary word or a person: needs context\n"
                    f"        keywords:\n{_block(w.ambiguous, 10)}\n"
                    f"      context:\n        keywords:\n{_block(context, 10)}")
        cond.append("ambiguous near context within 100 chars")
        match.append(f"{w.ambiguous[0]}: fichier patients complet")
        no_match.append(w.ambiguous[0])
    when = (w.date or dt.date.today()).isoformat()
    desc = (f"A brand, product, domain, e-mail domain or address of {w.organisation} "
            f"(watchlist of {when}).")
    return (
        f"# Generated by `darkwatch rules watchlist` for {w.organisation} ({when}).\n"
        f"# Edit the watchlist and compile it again rather than this file.\n"
        f"- id: {rule_id(name)}\n  name: {name}\n  title: {_q(f'{w.organisation}: own asset named')}\n"
        f"  description: {_q(desc)}\n"
        f"  author: darkwatch rules watchlist\n  date: {when}\n  status: test\n  level: {w.level}\n"
        f"  tags: [watchlist, \"org.{w.slug}\"]\n"
        f"  detection:\n    patterns:\n" + "\n".join(pats) + "\n"
        f"    condition: {' or '.join(cond)}\n    fields: [text, title]\n"
        f"  tests:\n    match:\n{_block(match, 6)}\n    no_match:\n{_block(no_match, 6)}\n")


def write_outputs(out: Path, texts: list[tuple[str, str]]) -> list[Path]:
    """Write ``out`` (or ``out-1.yml``, ``out-2.yml``... for split lists); return the paths."""
    paths = []
    for suffix, text in texts:
        p = out.with_name(out.stem + suffix + (out.suffix or ".yml"))
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths
