"""Built-in identifier detectors, registered like validators: one shape for every detector.

A validator checks what a rule's regex matched; a detector also *finds*: it owns the search for an
identifier whose shape a rule author should not have to write (the NIR's layouts, separators,
``clé`` and Corsican departments). Every detector has the same four parts, so the engine, the
schema and ``rules lint`` know detectors only through this registry:

* ``find(data, shared)``: (byte start, byte end, canonical) of each valid identifier in UTF-8
  ``data``; ``shared`` is a per-document dict where detectors of one family keep a pass they share
  (the full NIRs and the keyless bodies come from one Hyperscan pass);
* validation and canonicalisation happen inside ``find`` (only valid values come out, as the
  canonical string fingerprints are computed on);
* ``mask(canonical)``: what alerts and reports show instead of the value;
* optionally ``find_arrays(data, shared)``: the same finds as :class:`crawler.rules.nirbulk.Settled`
  arrays (starts, ends, canonical characters), for a summary scan of a dump, which counts
  hundreds of thousands of identifiers and keeps none.

To add one: write its finder (linear time on hostile input), register it in ``DETECTORS``; the
schema description, ``rules lint`` and the engine pick it up.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crawler.rules import nirbulk, nirfast
from crawler.rules.nir import mask_canonical

Found = tuple[int, int, str]  # byte start, byte end, canonical value


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    description: str
    find: Callable[[bytes, dict[str, Any]], list[Found]]
    mask: Callable[[str], str]
    find_arrays: Callable[[bytes, dict[str, Any]], nirbulk.Settled] | None = None


def outside(items: list[Any], spans: list[Any]) -> list[Any]:
    """``items`` that overlap none of the sorted, disjoint ``spans`` (both (start, end, ...))."""
    starts = [s[0] for s in spans]
    out = []
    for it in items:
        k = bisect_right(starts, it[0]) - 1
        if k >= 0 and spans[k][1] > it[0]:
            continue
        if k + 1 < len(spans) and spans[k + 1][0] < it[1]:
            continue
        out.append(it)
    return out


def _nir_pass(data: bytes, shared: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Full NIRs and keyless bodies: one Hyperscan pass for both (crawler.rules.nirfast)."""
    got: tuple[list[Any], list[Any]] | None = shared.get("fr-nir")
    if got is None:
        got = shared["fr-nir"] = nirfast.find_both(data)
    return got


def _canonical(found: list[Any]) -> list[Found]:
    # a Nir, or the canonical string of a NIR settled in bulk (crawler.rules.nirbulk)
    return [(s, e, n if type(n) is str else n.canonical) for s, e, n in found]


def _find_nir(data: bytes, shared: dict[str, Any]) -> list[Found]:
    return _canonical(_nir_pass(data, shared)[0])


def _find_nir_body(data: bytes, shared: dict[str, Any]) -> list[Found]:
    full, bodies = _nir_pass(data, shared)
    return _canonical(outside(bodies, full))  # a body inside a full NIR is that NIR


def _find_nir_arrays(data: bytes, shared: dict[str, Any]) -> nirbulk.Settled:
    got: tuple[nirbulk.Settled, list[Any]] | None = shared.get("fr-nir:arrays")
    if got is None:
        got = shared["fr-nir:arrays"] = nirfast.find_arrays(data)
    return got[0]


def _find_nir_body_arrays(data: bytes, shared: dict[str, Any]) -> nirbulk.Settled:
    _find_nir_arrays(data, shared)
    full, bodies = shared["fr-nir:arrays"]
    np = nirbulk.lazy_numpy()
    if bodies and len(full):  # ``outside`` over arrays: a body inside a full NIR is that NIR
        at = np.array([b[0] for b in bodies], dtype=np.int64)
        end = np.array([b[1] for b in bodies], dtype=np.int64)
        k = np.searchsorted(full.starts, at, side="right") - 1
        inside = (k >= 0) & (full.ends[np.maximum(k, 0)] > at)
        nxt = k + 1
        inside |= (nxt < len(full)) & (full.starts[np.minimum(nxt, len(full) - 1)] < end)
        bodies = [b for b, out in zip(bodies, (~inside).tolist(), strict=True) if out]
    return nirbulk.of_found(bodies, 13)


DETECTORS: dict[str, Detector] = {d.name: d for d in (
    Detector("fr-nir", "a valid French NIR (social-security number) with its key, in any layout "
             "dumps use", _find_nir, mask_canonical, _find_nir_arrays),
    Detector("fr-nir-body", "a structurally valid 13-character NIR body written without its key "
             "(pair it with NIR vocabulary: alone it is too weak)", _find_nir_body, mask_canonical,
             _find_nir_body_arrays),
)}
