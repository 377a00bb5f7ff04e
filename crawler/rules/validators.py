"""Validators: turn a regex match into (canonical value, masked value) or reject it.

python-stdnum does the check-digit arithmetic (well kept, covers the edge cases of each scheme);
darkwatch adds the NIR structure checks (see :mod:`crawler.rules.nir`) and the masking. FINESS and
RPPS have no stdnum module: both are Luhn-keyed (FINESS: 9 digits, RPPS: 11 digits from 10...).
Phones and e-mails have no key: the validator canonicalises them so bulk counts are distinct people.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from stdnum import iban, imei, luhn
from stdnum.fr import siren, siret

from crawler.privacy import mask_generic
from crawler.rules import nir

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


def _luhn_fixed(length: int, prefix: str = "") -> Callable[[str], Result]:
    """A fixed-length Luhn-keyed number: FINESS (9 digits), RPPS (11 digits starting 10)."""

    def check(value: str) -> Result:
        d = _digits(value)
        if len(d) != length or not d.startswith(prefix) or not luhn.is_valid(d):
            return None
        return d, mask_generic(d)

    return check


def _fr_phone(value: str) -> Result:
    """French phone number in any usual form -> +33XXXXXXXXX (so 06.. and +33 6.. are one)."""
    d = _digits(value)
    if d.startswith("0033"):
        d = d[4:]
    elif d.startswith("33") and len(d) == 11:
        d = d[2:]
    elif d.startswith("0") and len(d) == 10:
        d = d[1:]
    if len(d) != 9 or d[0] == "0":
        return None
    return "+33" + d, "+33 " + d[0] + " ** ** ** " + d[-2:]


def _email(value: str) -> Result:
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain:
        return None
    v = f"{local}@{domain}".lower()
    return v, local[0] + "***@" + domain.lower()


def _stdnum(module: ModuleType) -> Callable[[str], Result]:
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
    "fr-finess": _luhn_fixed(9),
    "fr-rpps": _luhn_fixed(11, "10"),
    "fr-phone": _fr_phone,
    "email": _email,
}
