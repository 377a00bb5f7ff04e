"""Generated documents with valid NIRs in many written forms and many decoys, with ground truth.

Shared by the tests and the bench. Ground truth is built independently of the engine: valid NIRs
are constructed field by field with their key; decoys are built so they are not NIRs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from stdnum import luhn

FIRST = ["Jean", "Marie", "Luc", "Chloé", "Zoë", "Hervé", "Anaïs", "Noël"]
LAST = ["Dupont", "Martin", "Lefèvre", "Bernard", "Faure", "Girard", "Mercier"]


def key_of(body: str) -> str:
    n = int(body.replace("2A", "19").replace("2B", "18"))
    return f"{97 - n % 97:02d}"


def random_nir(rng: random.Random) -> str:
    sex = rng.choice("1111122222378")
    year = f"{rng.randint(0, 99):02d}"
    month = f"{rng.choice([rng.randint(1, 12)] * 8 + [rng.randint(20, 42), rng.randint(50, 99)]):02d}"
    r = rng.random()
    if r < 0.08:
        place = rng.choice(["2A", "2B"]) + f"{rng.randint(1, 366):03d}"
    elif r < 0.15:
        place = f"{rng.choice([971, 972, 973, 974, 976, 987, 988])}{rng.randint(1, 60):02d}"
    elif r < 0.22:
        place = f"99{rng.randint(100, 990):03d}"
    else:
        place = f"{rng.choice([d for d in range(1, 96) if d != 20]):02d}{rng.randint(1, 900):03d}"
    body = sex + year + month + place + f"{rng.randint(1, 999):03d}"
    return body + key_of(body)


def fmt(nir: str, style: str) -> str:
    g = [nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:15]]
    body = nir[:13]
    return {
        "compact": nir,
        "spaced": " ".join(g),
        "dots": ".".join(g),
        "dashes": "-".join(g),
        "nbsp": "\u00a0".join(g),
        "narrow": "\u202f".join(g),
        "cle": f"{body} clé {nir[13:]}",
        "Cle": " ".join(g[:6]) + f" Clé: {nir[13:]}",
        "key-space": f"{body} {nir[13:]}",
        "paren": f"{body} ({nir[13:]})",
        "lower2a": nir.lower(),
    }[style]


STYLES = ["compact", "compact", "compact", "spaced", "spaced", "dots", "dashes", "nbsp", "narrow",
          "cle", "Cle", "key-space", "paren", "lower2a"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    part = prefix + _digits(rng, length - len(prefix) - 1)
    return part + luhn.calc_check_digit(part)


def decoy(rng: random.Random) -> str:
    nir = random_nir(rng)
    kind = rng.randrange(16)
    if kind == 0:  # wrong key
        wrong = f"{(int(nir[13:]) % 97) + 1:02d}"
        return nir[:13] + wrong
    if kind == 1:  # impossible sex digit
        return rng.choice("0569") + nir[1:13] + key_of(rng.choice("0569") + nir[1:13])
    if kind == 2:  # impossible month
        body = nir[0:3] + f"{rng.randint(13, 19):02d}" + nir[5:13]
        return body + key_of(body)
    if kind == 3:
        return "06 " + " ".join(_digits(rng, 2) for _ in range(4))
    if kind == 4:
        return "+33 6 " + " ".join(_digits(rng, 2) for _ in range(4))
    if kind == 5:  # SIRET, 14 digits
        return _luhn_complete(rng, "", 14)
    if kind == 6:  # IBAN
        return "FR76 " + " ".join(_digits(rng, 4) for _ in range(5)) + " " + _digits(rng, 3)
    if kind == 7:  # IMEI (15 digits, Luhn)
        return _luhn_complete(rng, "35", 15)
    if kind == 8:  # card, 16 digits
        return " ".join([_luhn_complete(rng, "4", 16)[i:i + 4] for i in range(0, 16, 4)])
    if kind == 9:  # Amex 15 digits Luhn
        return _luhn_complete(rng, rng.choice(["34", "37"]), 15)
    if kind == 10:  # NIR inside a longer digit run
        return _digits(rng, rng.randint(1, 4)) + nir
    if kind == 11:
        return nir + _digits(rng, rng.randint(1, 4))
    if kind == 12:  # keyless body
        return nir[:13]
    if kind == 13:  # long digit run
        return _digits(rng, rng.randint(16, 40))
    if kind == 14:  # decimal glued
        return f"{rng.randint(1, 99)}.{nir}"
    return f"{nir[:7]}-{nir[7:]}-{_digits(rng, 2)}"  # glued with dashes to more digits


@dataclass
class Doc:
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # expected NIR spans


def document(rng: random.Random, n_nirs: int, n_decoys: int) -> Doc:
    """One document (a post or a dump fragment) with known NIR spans."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    items = [("nir", None)] * n_nirs + [("decoy", None)] * n_decoys
    rng.shuffle(items)

    def add(s: str) -> None:
        nonlocal pos
        parts.append(s)
        pos += len(s)

    for kind, _ in items:
        who = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        layout = rng.randrange(5)
        value = fmt(random_nir(rng), rng.choice(STYLES)) if kind == "nir" else decoy(rng)
        if layout == 0:
            pre, post = f"{who};{rng.randint(1, 28):02d}/0{rng.randint(1, 9)}/19{rng.randint(40, 99)};", \
                ";75001;Paris\n"
        elif layout == 1:
            pre, post = f'{{"name": "{who}", "nir": "', '", "tel": "0612345678"}\n'
        elif layout == 2:
            pre, post = f"Patient {who}, numéro de sécu : ", ". Mutuelle MGEN.\n"
        elif layout == 3:
            pre, post = f"{who}\t", f"\t{rng.randint(1, 9999)}\n"
        else:
            pre, post = "n°", f" — {who}\n"
        add(pre)
        if kind == "nir":
            spans.append((pos, pos + len(value)))
        add(value)
        add(post)
    return Doc("".join(parts), spans)


def score(found: list[set[tuple[int, int]]], docs: list[Doc]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of exact spans."""
    tp = fp = fn = 0
    for got, d in zip(found, docs, strict=True):
        exp = set(d.spans)
        tp += len(got & exp)
        fp += len(got - exp)
        fn += len(exp - got)
    return tp, fp, fn
