"""What each selector matches on one page, and what kind of page it is (pure).

``forums test`` prints this so a config author sees, per field, which selector matched how
many nodes: a date selector that matches the author's join date and the post date shows
``2 matches, using the first``, which the extracted value alone would hide.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsel import Selector, SelectorList

from crawler.engines.extract import split_alternatives
from crawler.engines.selectors import Selectors

BOARD_FIELDS = ("thread_row", "board_next", "subboard_link")
ROW_FIELDS = ("thread_link", "thread_marker")
THREAD_FIELDS = ("thread_title", "post", "thread_next", "thread_last")
POST_FIELDS = ("post_id", "author", "published", "body", "quote", "signature", "exclude")
SESSION_FIELDS = ("logged_out", "login_form")
# Fields where one value is used: more than one match in a container is worth a warning.
SINGLE = {"thread_link", "board_next", "thread_title", "thread_next", "thread_last",
          "post_id", "author", "published", "body"}


@dataclass(slots=True)
class FieldHit:
    field: str
    selector: str
    scope: str  # "page", "row" or "post"
    containers: int  # rows/posts examined (1 for page fields)
    matched: int  # containers where the selector matched
    most: int  # most nodes matched in one container
    fewest: int = 0  # fewest nodes matched in a container where it matched
    alternative: str | None = None  # the comma alternative used, when not the first

    def describe(self) -> str:
        if self.scope == "page":
            text = f"{self.most} match{'es' if self.most != 1 else ''}" if self.most else "no match"
        else:
            text = f"{self.matched}/{self.containers} {self.scope}s"
            if self.most > 1:
                each = f"{self.most} matches" if self.fewest == self.most else \
                    f"{self.fewest}-{self.most} matches"
                text += f", {each} in each" if self.matched == self.containers else \
                    f", {each} in {'one' if self.matched == 1 else 'those'}"
        if self.ambiguous:
            text += ", using the first"
        if self.alternative:
            text += f"; alternative {self.alternative!r} used"
        return text

    @property
    def ambiguous(self) -> bool:
        return self.field in SINGLE and self.most > 1


def _select(node: Selector, expr: str) -> SelectorList[Selector]:
    try:
        if expr.startswith("xpath:"):
            return node.xpath(expr[len("xpath:"):].strip())
        return node.css(expr)
    except Exception:  # invalid selector: forums lint reports it
        return SelectorList([])


def _count(node: Selector, expr: str, field: str) -> tuple[int, str | None]:
    """Nodes matched; for single-valued CSS lists, those of the first alternative that
    matches (the one the extractor uses), and that alternative when it is not the first."""
    if field not in SINGLE or expr.startswith("xpath:"):
        return len(_select(node, expr)), None
    alts = split_alternatives(expr)
    for i, alt in enumerate(alts):
        found = [s for s in _select(node, alt) if str(s.get() or "").strip()]
        if found:
            return len(found), (alt if i else None)
    return 0, None


def _hit(field: str, expr: str, scope: str, nodes: list[Selector]) -> FieldHit:
    counts = [_count(n, expr, field) for n in nodes]
    alt = next((a for c, a in counts if c and a), None)
    matched = [c for c, _ in counts if c]
    return FieldHit(field, expr, scope, len(nodes), len(matched), max(matched, default=0),
                    min(matched, default=0), alt)


def field_hits(html: str, url: str, sel: Selectors) -> list[FieldHit]:
    """One line per configured selector: page fields on the page, row fields in each
    ``thread_row``, post fields in each ``post``."""
    doc = Selector(text=html or "<html/>", base_url=url)
    out: list[FieldHit] = []
    rows = list(_select(doc, sel.thread_row)) if sel.thread_row else []
    posts = list(_select(doc, sel.post)) if sel.post else []
    for field in (*BOARD_FIELDS, *THREAD_FIELDS, *SESSION_FIELDS):
        expr = getattr(sel, field)
        if expr:
            out.append(_hit(field, expr, "page", [doc]))
    for field in ROW_FIELDS:
        expr = getattr(sel, field)
        if expr and rows:
            out.append(_hit(field, expr, "row", rows))
    for field in POST_FIELDS:
        expr = getattr(sel, field)
        if expr and posts:
            out.append(_hit(field, expr, "post", posts))
    return out


__all__ = ["FieldHit", "field_hits"]
