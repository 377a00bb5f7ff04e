"""A ransomware group's leak site (``/leaksite/``), for the ``engine: custom`` recipe.

Written from public descriptions of leak-site layouts (no site's markup copied): a
paginated victim list (cards with the victim's name, an excerpt, a countdown or
"PUBLISHED" state, the last update) and one page per victim (name, announcement time,
country, sector, announced data size, deadline or publication state, description, file
listing). Every victim is one "thread" with one "post" whose body carries all of it, so
the crawl stores a victim once and a state change (countdown -> published) changes the
card's marker and the post's text (the crawl re-reads it and stores it as edited).

URLs: ``index.php[?page=N]`` (list, newest first), ``victim.php?id=N``.
"""

# HTML templates mirror one-line markup; wrapping them would hurt fidelity.
# ruff: noqa: E501

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_http import Request, Response, page_count

GROUP = "N1ghtOwl Team"
# (name, country, sector, description, files): French health victims first, then others.
_VICTIMS = [
    ("Biolab Rhône Analyses", "France", "Healthcare",
     "Medical laboratory network, 14 sites around Lyon. Patients, results, invoices.",
     ["patients_2021.csv", "resultats_analyses_2022.zip", "hprim_export.tar"]),
    ("Clinique Saint-Aubin", "France", "Hospital",
     "Private clinic, 220 beds. HR, patient records, insurer contracts.",
     ["dossiers_patients.7z", "rh_salaires.xlsx"]),
    ("MediSoft Santé SAS", "France", "Health IT",
     "Vendor of lab and hospital software. Source code, customer databases.",
     ["clients_labos.sql", "src_sil_v4.zip"]),
    ("Bâtiments Morel", "France", "Construction",
     "Building company. Contracts, accounting, employee data.",
     ["contrats_2023.pdf", "compta.xlsx"]),
    ("Lakeside Community Hospital", "USA", "Healthcare",
     "Regional hospital. EHR extracts and billing.",
     ["ehr_extract.csv", "billing_2023.xlsx"]),
]
_FILLER_SECTORS = ["Manufacturing", "Logistics", "Retail", "Legal", "Education", "Finance"]
_FILLER_COUNTRIES = ["Germany", "Italy", "Brazil", "Canada", "Spain", "Japan"]


@dataclass
class Victim:
    vid: int
    name: str
    country: str
    sector: str
    size_gb: int
    description: str
    files: list[str]
    announced: datetime
    deadline: datetime
    published: bool = False
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def state(self) -> str:
        return "published" if self.published else "countdown"


class LeakSiteSkin:
    engine = "custom"

    def __init__(self, seed: int = 1, prefix: str = "/leaksite", per_page: int = 10,
                 anchor: datetime | None = None, filler: int = 18) -> None:
        self.prefix = prefix
        self.per_page = per_page
        self.lock = threading.Lock()
        rng = random.Random(seed)
        now = (anchor or datetime.now(UTC)).replace(second=0, microsecond=0)
        rows = list(_VICTIMS)
        for i in range(filler):
            rows.append((f"{ft.USERNAMES[i % len(ft.USERNAMES)].title()} Holdings {i + 1}",
                         rng.choice(_FILLER_COUNTRIES), rng.choice(_FILLER_SECTORS),
                         "Company data: contracts, emails, finance.", [f"share_{i + 1}.zip"]))
        self.victims: dict[int, Victim] = {}
        for i, (name, country, sector, desc, files) in enumerate(rows):
            announced = now - timedelta(hours=rng.randint(2, 24 * 40))
            if i == 0:  # one French health victim is always still in its countdown
                announced = now - timedelta(days=2)
            v = Victim(100 + i, name, country, sector, rng.randint(5, 900), desc, list(files), announced,
                       announced + timedelta(days=10), published=announced < now - timedelta(days=10),
                       updated=announced)
            self.victims[v.vid] = v

    # ------------------------------------------------------------------ URLs and mutations
    def thread_url(self, vid: int) -> str:
        return f"{self.prefix}/victim.php?id={vid}"

    def board_page_url(self, board_id: int = 0, page: int = 1) -> str:
        return f"{self.prefix}/index.php" + (f"?page={page}" if page > 1 else "")

    def ordered(self) -> list[Victim]:
        with self.lock:
            return sorted(self.victims.values(), key=lambda v: (-v.updated.timestamp(), -v.vid))

    def publish(self, vid: int, when: datetime | None = None) -> None:
        """The countdown ran out: the group publishes the data (and the file listing grows)."""
        with self.lock:
            v = self.victims[vid]
            v.published = True
            v.updated = (when or datetime.now(UTC)).replace(second=0, microsecond=0)
            v.files.append("full_dump_part1.7z")

    # ------------------------------------------------------------------ rendering
    def _status(self, v: Victim) -> str:
        if v.published:
            return "ALL AVAILABLE DATA PUBLISHED"
        return f"Deadline: {v.deadline:%Y-%m-%d %H:%M} UTC (countdown running)"

    def body_text(self, v: Victim) -> str:
        """The post text a correct crawler extracts (visible text of the victim body)."""
        files = " ".join(f"{f} {self._fsize(v, f)}" for f in v.files)
        return ft.collapse(f"Country: {v.country} Sector: {v.sector} Data size: {v.size_gb} GB "
                           f"Status: {self._status(v)} {v.description} Files {files}")

    @staticmethod
    def _fsize(v: Victim, name: str) -> str:
        return f"{(sum(map(ord, name)) + v.vid) % 97 + 1} GB"

    def _layout(self, title: str, main: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | {GROUP} blog</title>
<meta name="robots" content="noindex"></head>
<body><header class="site-head"><a class="logo" href="index.php">{GROUP}</a>
<nav><a href="index.php">Victims</a> <a href="rules.php">Rules</a> <a href="contact.php">Contact us</a></nav></header>
<main>{main}</main>
<footer><p>Companies that pay are removed. Those that do not will see their data published.</p></footer>
</body></html>"""

    def handle(self, req: Request) -> Response:
        page = req.path.lstrip("/") or "index.php"
        if page == "index.php":
            return self.index(req)
        if page == "victim.php":
            return self.victim(req)
        return Response.html(self._layout("Not found", "<h1>404</h1>"), 404)

    def index(self, req: Request) -> Response:
        victims = self.ordered()
        pages = page_count(len(victims), self.per_page)
        try:
            cur = min(max(1, int(req.query.get("page", 1))), pages)
        except ValueError:
            cur = 1
        cards = []
        for v in victims[(cur - 1) * self.per_page: cur * self.per_page]:
            state = ('<div class="victim-state state-published">PUBLISHED</div>' if v.published else
                     f'<div class="victim-state state-countdown"><span class="timer" '
                     f'data-deadline="{v.deadline:%Y-%m-%dT%H:%M:%SZ}">countdown</span></div>')
            cards.append(f"""<div class="victim-card" id="card-{v.vid}">
<a class="victim-link" href="victim.php?id={v.vid}"><h3 class="victim-name">{escape(v.name)}</h3></a>
<p class="victim-excerpt">{escape(v.description[:60])}…</p>
{state}
<div class="victim-updated">Updated: {v.updated:%Y-%m-%d %H:%M} UTC</div>
</div>""")
        nav = ""
        if cur < pages:
            nav += f'<a class="page-next" href="index.php?page={cur + 1}">Next &raquo;</a>'
        if cur > 1:
            nav = f'<a class="page-prev" href="index.php?page={cur - 1}">&laquo; Prev</a> ' + nav
        main = f'<section class="victims">{"".join(cards)}</section><nav class="pagination">{nav}</nav>'
        return Response.html(self._layout("Victims", main))

    def victim(self, req: Request) -> Response:
        try:
            v = self.victims.get(int(req.query.get("id", "0")))
        except ValueError:
            v = None
        if v is None:
            return Response.html(self._layout("Not found", "<h1>No such victim</h1>"), 404)
        rows = "".join(f"<tr><td class=\"fname\">{escape(f)}</td><td class=\"fsize\">{self._fsize(v, f)}</td></tr>"
                       for f in v.files)
        main = f"""<article class="victim-post" id="victim-{v.vid}">
<h1 class="victim-title">{escape(v.name)}</h1>
<div class="victim-byline">by <span class="group">{GROUP}</span> <time datetime="{v.announced:%Y-%m-%dT%H:%M:%SZ}">{v.announced:%d %b %Y %H:%M}</time></div>
<div class="victim-body">
<ul class="victim-facts"><li>Country: {escape(v.country)}</li><li>Sector: {escape(v.sector)}</li><li>Data size: {v.size_gb} GB</li></ul>
<p class="victim-status state-{v.state}">Status: {self._status(v)}</p>
<div class="victim-desc"><p>{escape(v.description)}</p></div>
<table class="files"><thead><tr><th>Files</th></tr></thead><tbody>{rows}</tbody></table>
</div>
</article>"""
        return Response.html(self._layout(v.name, main))

    # ------------------------------------------------------------------ truth
    def truth(self, base_url: str) -> list[dict]:
        out = []
        for v in self.ordered():
            out.append({
                "engine": "leaksite", "board_id": 0, "thread_id": v.vid,
                "thread_url": base_url + self.thread_url(v.vid), "thread_title": v.name,
                "post_id": str(v.vid), "author": GROUP,
                "published": v.announced.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "text": self.body_text(v), "quoted_text": "", "state": v.state,
                "country": v.country, "sector": v.sector,
            })
        return out


# The documented `engine: custom` recipe for this layout (README: ransomware leak sites).
LEAKSITE_SELECTORS = {
    "thread_row": "div.victim-card",
    "thread_link": "a.victim-link",
    "thread_marker": ".victim-state, .victim-updated",
    "board_next": "a.page-next::attr(href)",
    "thread_title": "h1.victim-title",
    "post": "article.victim-post",
    "post_id": "::attr(id)",
    "post_id_regex": r"victim-(\d+)",
    "author": ".victim-byline .group",
    "published": ".victim-byline time::attr(datetime)",
    "body": "div.victim-body",
}

__all__ = ["GROUP", "LEAKSITE_SELECTORS", "LeakSiteSkin", "Victim"]
