"""A seeded CSV dump shaped like the February 2021 lab leak, with its ground truth.

Shared by the scan tests and ``bench/scan.py``. Truth is built from the generator's own choices
(not from the engine): rows, distinct valid NIRs, lab mentions per lab, bytes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stdnum import luhn

from tests.support.nir_corpus import FIRST, LAST, random_nir

HEADER = "nir;nom;prenom;naissance;groupe_sanguin;medecin_traitant;mutuelle;labo;commentaire"
# (as written in the dump, folded keyword of the shipped pack that names it)
LABS = [("Cerballiance", "cerballiance"), ("BIOGROUP", "biogroup"), ("Synlab", "synlab"),
        ("Unilabs", "unilabs"), ("Inovie", "inovie"), ("Eurofins Biomnis", "eurofins biomnis"),
        ("Labosud", "labosud"), ("Bioaxiome", "bioaxiome"), ("Laborizon", "laborizon"),
        ("Dyomedea", "dyomedea"), ("Bioliance", "bioliance"), ("Biofusion", "biofusion"),
        ("Novabio", "novabio"), ("Labazur", "labazur"), ("Bioestérel", "bioesterel")]
BLOOD = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
INSURERS = ["MGEN", "Harmonie", "Malakoff Humanis", "AG2R", "MAAF Santé", "Swiss Life", "CPAM"]
NOTES = ["", "", "", "RAS", "allergie pénicilline", "diabète type 2", "HTA suivie", "grossesse",
         "à rappeler", "bilan lipidique", "anticoagulants", "asthme léger"]


@dataclass
class DumpTruth:
    rows: int = 0
    bytes: int = 0
    nirs: set[str] = field(default_factory=set)
    nir_counts: Counter = field(default_factory=Counter)  # valid NIR -> rows holding it
    labs: Counter = field(default_factory=Counter)

    @property
    def nir_distinct(self) -> int:
        return len(self.nirs)


def _valid_nir(rng: random.Random) -> str:
    while True:
        n = random_nir(rng)
        if not (n[:2] in ("34", "35", "37") and luhn.is_valid(n)):  # IMEI/Amex shapes: rejected
            return n


def write_dump(path: Path, rows: int, seed: int = 1, dup_rate: float = 0.03,
               bad_rate: float = 0.01) -> DumpTruth:
    """Write ``rows`` data rows (plus a header) to ``path``; return what is in it."""
    rng = random.Random(seed)
    truth = DumpTruth(rows=rows)
    seen: list[str] = []
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        lines = [HEADER]
        for _ in range(rows):
            r = rng.random()
            if r < dup_rate and seen:
                nir = rng.choice(seen)
            elif r < dup_rate + bad_rate:
                good = _valid_nir(rng)
                nir = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"  # wrong key: not a NIR
            else:
                nir = _valid_nir(rng)
                if len(seen) < 10_000:
                    seen.append(nir)
            if nir[13:] == _key(nir[:13]):
                truth.nirs.add(nir.upper())
                truth.nir_counts[nir.upper()] += 1
            lab, key = rng.choice(LABS)
            truth.labs[key] += 1
            written = nir if rng.random() < 0.8 else " ".join(
                [nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]])
            lines.append(";".join([
                written, rng.choice(LAST).upper(), rng.choice(FIRST),
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/19{nir[1:3]}", rng.choice(BLOOD),
                f"Dr {rng.choice(LAST)}", rng.choice(INSURERS), lab, rng.choice(NOTES)]))
            if len(lines) >= 10_000:
                fh.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            fh.write("\n".join(lines) + "\n")
    truth.bytes = path.stat().st_size
    return truth


def _key(body13: str) -> str:
    n = int(body13.upper().replace("2A", "19").replace("2B", "18"))
    return f"{97 - n % 97:02d}"


def write_hit_dense(path: Path, mb: float, seed: int = 2) -> int:
    """A file of NIRs and lab names only (a hit every ~15 bytes); returns its size in bytes."""
    rng = random.Random(seed)
    pool = [_valid_nir(rng) for _ in range(50_000)]
    labs = [name for name, _k in LABS]
    target = int(mb * 1024 * 1024)
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < target:
            block = "\n".join(f"{rng.choice(pool)} {rng.choice(pool)} {rng.choice(labs)}"
                              for _ in range(5000)) + "\n"
            fh.write(block)
            written += len(block.encode())
    return path.stat().st_size
