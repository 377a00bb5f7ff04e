"""Rule-engine throughput: darkwatch vs a naive Python ``re`` loop vs yara-python.

Same corpus (generated forum posts and dump fragments: French text, numbers, NIRs and decoys),
same rules: the shipped pack plus 1,000 generated keywords and 50 generated regexes. Prints MB/s
for each engine and the ratios (targets: darkwatch >= 10x the naive loop, >= YARA).

The naive loop is slow (one pass per pattern), so it runs on the first ``--naive-mb`` MB of the
corpus; MB/s is a rate, so the comparison stays fair.

    python bench/rules.py [--mb 20] [--naive-mb 0.5] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.rules import nir as nir_mod  # noqa: E402
from crawler.rules.engine import RuleSet  # noqa: E402
from crawler.rules.loader import load_rules  # noqa: E402
from tests.support.nir_corpus import STYLES, decoy, fmt, random_nir  # noqa: E402

_TEXT = ("le la les des un une patient patients fichier données santé laboratoire analyse "
         "résultats médecin dossier envoi reçu prix euros bitcoin contact vendeur acheteur "
         "qualité frais complet base client numéro adresse téléphone naissance ville mise à jour "
         "hier demain très bien merci bonjour salut forum post sujet réponse lien télécharger "
         "archive mot passe accès serveur export import colonne ligne total échantillon vérifié "
         "the and for with data fresh sample price escrow vouch legit french records")
WORDS = _TEXT.split()
SYL = ["ka", "lo", "mi", "ré", "zu", "ta", "po", "bé", "ni", "sa", "qu", "ox", "vy", "dé", "ar", "el"]


def gen_keywords(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(SYL) for _ in range(rng.randint(3, 5))))
    return sorted(out)


def gen_regexes(rng: random.Random, n: int) -> list[str]:
    shapes = [
        r"\b{p}-\d{{4,8}}\b", r"(?i)\b{p}[_ ]?id\s*[:=]\s*\d{{3,10}}", r"\b{P}\d{{6}}[A-Z]\b",
        r"(?i){p}://[a-z0-9]{{16,56}}\.onion", r"\b{p}_[a-f0-9]{{32}}\b", r"(?i)\b{p}\s+v\d+\.\d+",
        r"\b[A-Z]{{2}}{p}\d{{3,5}}\b", r"(?i)\b{p}(?:user|login)\s*:\s*\S+",
    ]
    out = []
    for i in range(n):
        p = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4)) + str(i)
        out.append(shapes[i % len(shapes)].format(p=p, P=p.upper()))
    return out


def write_rules(folder: Path, keywords: list[str], regexes: list[str]) -> None:
    for i in range(10):
        kws = keywords[i * 100:(i + 1) * 100]
        (folder / f"kw{i}.yml").write_text(
            f"id: 00000000-0000-4000-9000-{i:012d}\nname: bench-kw-{i}\ntitle: bench\nlevel: low\n"
            "detection:\n  patterns:\n    k:\n      keywords:\n"
            + "".join(f"        - \"{k}\"\n" for k in kws), encoding="utf-8")
    for i in range(5):
        rxs = regexes[i * 10:(i + 1) * 10]
        (folder / f"rx{i}.yml").write_text(
            f"id: 00000000-0000-4000-a000-{i:012d}\nname: bench-rx-{i}\ntitle: bench\nlevel: low\n"
            "detection:\n  patterns:\n"
            + "".join(f"    r{j}:\n      regex: '{r}'\n" for j, r in enumerate(rxs)), encoding="utf-8")


def gen_corpus(rng: random.Random, mb: float, keywords: list[str], regex_samples: list[str]) -> list[str]:
    labs = ["Cerballiance", "Biogroup", "SYNLAB", "Eurofins Biomnis", "Dédalus", "Hexalis"]
    docs, total = [], 0
    while total < mb * 1024 * 1024:
        parts = []
        for _ in range(rng.randint(150, 900)):
            r = rng.random()
            if r < 0.90:
                parts.append(rng.choice(WORDS))
            elif r < 0.95:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 10))))
            elif r < 0.965:
                parts.append(fmt(random_nir(rng), rng.choice(STYLES)))
            elif r < 0.98:
                parts.append(decoy(rng))
            elif r < 0.99:
                parts.append(rng.choice(keywords))
            elif r < 0.995:
                parts.append(rng.choice(labs))
            else:
                parts.append(rng.choice(regex_samples))
            if rng.random() < 0.08:
                parts.append("\n")
        doc = " ".join(parts)
        docs.append(doc)
        total += len(doc.encode())
    return docs


def regex_samples(rng: random.Random, regexes: list[str]) -> list[str]:
    out = []
    for r in regexes:
        p = re.search(r"([a-z]{4}\d+)", r, re.I).group(1).lower()
        out += [f"{p}-123456", f"{p}_id: 4242", f"{p.upper()}123456X", f"{p} v2.1", f"{p}user: bob"]
    return out


def bench_darkwatch(ruleset: RuleSet, docs: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    for d in docs:
        for f in ruleset.evaluate({"text": d}):
            n += len(f.hits)
    return time.perf_counter() - t0, n


def naive_patterns(rules) -> list[tuple[re.Pattern, str | None]]:
    """One Python ``re`` per pattern: the loop darkwatch replaces."""
    pats = []
    for lr in rules:
        for p in lr.rule.detection.patterns.values():
            if p.keywords:
                for k in p.keywords:
                    pats.append((re.compile(r"(?i)(?<!\w)" + re.escape(k) + r"(?!\w)"), None))
            elif p.regex:
                pats.append((re.compile(p.regex), p.validator))
            elif p.detector == "fr-nir":
                py = nir_mod.CANDIDATE.replace(r"\x{a0}", "\u00a0").replace(r"\x{202f}", "\u202f")
                pats.append((re.compile(py), "fr-nir"))
    return pats


def bench_naive(pats, docs: list[str]) -> tuple[float, int]:
    from crawler.rules.validators import VALIDATORS

    t0 = time.perf_counter()
    n = 0
    for d in docs:
        for rx, validator in pats:
            for m in rx.finditer(d):
                if validator is None or VALIDATORS[validator](m.group(0)):
                    n += 1
    return time.perf_counter() - t0, n


def yara_source(keywords: list[str], regexes: list[str], rules) -> str:
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace('"', '\\"')

    out = []
    for i in range(10):
        strings = "\n".join(f'    $k{j} = "{esc(k)}" nocase fullword'
                            for j, k in enumerate(keywords[i * 100:(i + 1) * 100]))
        out.append(f"rule bench_kw_{i} {{\n  strings:\n{strings}\n  condition:\n    any of them\n}}")
    for i in range(5):
        lines = []
        for j, r in enumerate(regexes[i * 10:(i + 1) * 10]):
            nocase = r.startswith("(?i)")
            body = r[4:] if nocase else r
            body = body.replace("(?:", "(").replace("/", chr(92) + "/")
            lines.append(f"    $r{j} = /{body}/" + (" nocase" if nocase else ""))
        out.append(f"rule bench_rx_{i} {{\n  strings:\n" + "\n".join(lines)
                   + "\n  condition:\n    any of them\n}")
    # The shipped pack: keywords as nocase fullword strings, the NIR as a regex.
    sep = r"[ .\-\/]{0,2}"
    nir_rx = (r"\b[1-478]" + sep + r"\d\d" + sep + r"\d\d" + sep + r"(\d\d|2[AaBb])" + sep + r"\d\d\d"
              + sep + r"\d\d\d[ .\-\/;,:(]{0,4}\d\d\b")
    for k, lr in enumerate(rules):
        strings = []
        for name, p in lr.rule.detection.patterns.items():
            if p.keywords:
                strings += [f'    ${name}{j} = "{esc(w)}" nocase fullword' for j, w in enumerate(p.keywords)]
            elif p.detector:
                strings.append(f"    ${name} = /{nir_rx}/")
        if strings:
            out.append(f"rule shipped_{k} {{\n  strings:\n" + "\n".join(strings)
                       + "\n  condition:\n    any of them\n}")
    return "\n\n".join(out)


def bench_yara(source: str, docs: list[bytes]) -> tuple[float, int]:
    import yara

    compiled = yara.compile(source=source)
    t0 = time.perf_counter()
    n = 0
    for d in docs:
        for m in compiled.match(data=d):
            n += sum(len(s.instances) for s in m.strings)
    return time.perf_counter() - t0, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=20.0, help="corpus size in MB (default 20)")
    ap.add_argument("--naive-mb", type=float, default=0.5, help="part of it for the naive loop")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--extra-rules", nargs="*", default=[], metavar="PATH",
                    help="more rule files for darkwatch only (e.g. a 50,000-name import), to "
                         "measure what a big list costs; the ratios then compare unequal work")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    keywords = gen_keywords(rng, 1000)
    regexes = gen_regexes(rng, 50)
    t0 = time.perf_counter()
    docs = gen_corpus(rng, args.mb, keywords, regex_samples(rng, regexes))
    raw = [d.encode() for d in docs]
    size = sum(len(b) for b in raw) / 1e6
    print(f"corpus: {len(docs)} documents, {size:.1f} MB (generated in {time.perf_counter() - t0:.1f}s)")
    shipped = load_rules([str(ROOT / "rules")])[0]
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), keywords, regexes)
        extra = load_rules([tmp])[0]
    rules = shipped + extra
    more = load_rules(args.extra_rules)[0] if args.extra_rules else []
    t0 = time.perf_counter()
    ruleset = RuleSet(rules + more)
    n_kw = sum(len(p.keywords or ()) for lr in more for p in lr.rule.detection.patterns.values())
    print(f"rules: {len(rules) + len(more)} rules, {len(ruleset.matcher.patterns)} distinct patterns "
          f"(shipped pack + 1000 keywords + 50 regexes"
          + (f" + {n_kw} keywords of --extra-rules" if more else "")
          + f"), compiled in {time.perf_counter() - t0:.2f}s")

    dw_time, dw_hits = bench_darkwatch(ruleset, docs)
    dw = size / dw_time
    print(f"darkwatch : {dw:8.1f} MB/s  ({dw_time:.1f}s, {dw_hits} hits incl. validated NIRs)")

    naive_docs, acc = [], 0
    for d, b in zip(docs, raw, strict=True):
        if acc >= args.naive_mb * 1e6:
            break
        naive_docs.append(d)
        acc += len(b)
    pats = naive_patterns(rules)
    nv_time, nv_hits = bench_naive(pats, naive_docs)
    nv = acc / 1e6 / nv_time
    print(f"naive re  : {nv:8.2f} MB/s  ({nv_time:.1f}s on the first {acc / 1e6:.1f} MB, "
          f"{len(pats)} patterns, {nv_hits} hits)")

    ya_time, ya_hits = bench_yara(yara_source(keywords, regexes, shipped), raw)
    ya = size / ya_time
    print(f"yara      : {ya:8.1f} MB/s  ({ya_time:.1f}s, {ya_hits} string hits, no validation)")

    print(f"ratio darkwatch/naive: {dw / nv:6.1f}x  (target >= 10x)  {'OK' if dw / nv >= 10 else 'MISSED'}")
    print(f"ratio darkwatch/yara : {dw / ya:6.2f}x  (target >= 1x)   {'OK' if dw / ya >= 1 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
