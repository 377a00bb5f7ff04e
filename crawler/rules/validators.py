"""Validators: turn a regex match into (canonical value, masked value) or reject it.

python-stdnum does the check-digit arithmetic (well kept, covers the edge cases of each scheme);
darkwatch adds the NIR structure checks (see :mod:`crawler.rules.nir`) and the masking.
"""

from __future__ import annotations

from collections.abc import Callable

from stdnum import iban, imei, luhn
from stdnum.fr import siren, siret

from crawler.rules import nir
from crawler.rules.mask import mask_generic

Result = tuple[str, str] | None  # (canonical, masked)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _nir(value: str) -> Result:
    n = nir.parse_value(value)
    return (n.canonical, n.masked) if n else None


def _luhn(value: str) -> Result:
    d = _digits(value)
    if not 12 <= len(d) <= 19 or not luhn.is_valid(d):
        return None
    return d, "*" * (len(d) - 4) + d[-4:]


def _iban(value: str) -> Result:
    v = "".join(c for c in value.upper() if c.isalnum())
    if not iban.is_valid(v):
        return None
    return v, v[:4] + "*" * (len(v) - 7) + v[-3:]


def _stdnum(module) -> Callable[[str], Result]:
    def check(value: str) -> Result:
        d = _digits(value)
        return (d, mask_generic(d)) if module.is_valid(d) else None

    return check


VALIDATORS: dict[str, Callable[[str], Result]] = {
    "fr-nir": _nir,
    "luhn": _luhn,
    "iban": _iban,
    "fr-siren": _stdnum(siren),
    "fr-siret": _stdnum(siret),
    "imei": _stdnum(imei),
}
