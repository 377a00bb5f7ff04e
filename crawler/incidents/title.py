"""The one-line human title of an incident: what was found, how big, where it points."""

from __future__ import annotations

from crawler.incidents.model import Incident
from crawler.privacy import clean

MAX_TITLE_LABS = 3


def make_title(inc: Incident) -> str:
    """E.g. "≈120,000-patient lab database offered — 3 NIRs shown, Inovie, Dedalus"."""
    subject = "lab database" if inc.labs else "health data" if inc.nir_distinct else ""
    if subject and inc.claimed_size:
        head = f"≈{inc.claimed_size:,}-patient {subject} offered"
    elif subject:
        head = f"{subject[:1].upper()}{subject[1:]} exposed in “{clean(inc.thread_title, 60)}”"
    else:
        what = ", ".join(inc.rules[:2]) or "detection"
        head = f"{what} in “{clean(inc.thread_title, 60)}”"
    tail = []
    if inc.nir_distinct:
        tail.append(f"{inc.nir_distinct:,} NIR{'s' if inc.nir_distinct != 1 else ''} shown")
    tail.extend(inc.labs[:MAX_TITLE_LABS])
    if len(inc.labs) > MAX_TITLE_LABS:
        tail.append(f"+{len(inc.labs) - MAX_TITLE_LABS} more")
    return head + (" — " + ", ".join(tail) if tail else "")
