"""The scope report as one self-contained HTML page, for a data-protection officer.

GDPR art. 33(3) asks a breach notification for the nature of the breach, the categories and
approximate number of data subjects and of records, and the categories of data. This page lays
out the ``darkwatch scan --summary`` figures in that order, with charts drawn as inline SVG (no
script, no external asset: it opens offline and prints as is). Values are the summary's only:
masked samples and counts, never a clear identifier.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

_KIND_LABELS = {
    "nir": "social-security number (NIR)", "last_name": "last name", "first_name": "first name",
    "birth_date": "birth date", "blood_group": "blood group (health)",
    "gp": "general practitioner (health)", "insurer": "health insurer",
    "lab": "medical laboratory (health)", "notes": "free-text notes (may hold health data)",
    "phone": "phone number", "email": "e-mail address", "address": "postal address",
}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1d2430}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5dae1;padding-bottom:4px}
.sub{color:#5b6573}.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.kpi{background:#f3f5f8;border-radius:8px;padding:10px 14px;min-width:150px}
.kpi b{display:block;font-size:22px}
.warn{background:#fff4e5;border:1px solid #f0b35a;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e6e9ee;padding:4px 6px;text-align:left;vertical-align:top}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px}
"""
_COLORS = ["#2f6db5", "#c0504d", "#6a9f3a", "#8064a2", "#d9822b", "#3aa0a8"]


def bar_chart(title: str, items: list[tuple[str, int]], color: str = _COLORS[0],
              width: int = 460) -> str:
    """A horizontal bar chart as inline SVG (labels left, counts right)."""
    items = items[:20]
    row, label_w, top = 20, 150, 26
    height = top + row * max(len(items), 1) + 6
    peak = max((v for _k, v in items), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}">',
           f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>']
    bar_w = width - label_w - 70
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(1, round(bar_w * value / peak))
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                   f'{escape(str(label))[:24]}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 6}" fill="{color}" rx="2"/>'
                   f'<text x="{label_w + w + 4}" y="{y + 14}" font-size="12">{value:,}</text>')
    if not items:
        out.append(f'<text x="0" y="{top + 14}" font-size="12" fill="#5b6573">nothing found</text>')
    out.append("</svg>")
    return "".join(out)


def render_html(d: dict[str, Any]) -> str:
    """The page for one summary (``Scope.to_dict``)."""
    files = d["files"]
    members = [f for f in files if "!" in f["path"]]
    bad = [f for f in files if "error" in f]
    kinds = [c for c in d["columns"] if c["kind"] != "unknown"]
    approx = "" if d["nir_distinct_exact"] else "about "
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    p: list[str] = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>darkwatch: scope of a leaked dump</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Scope of a leaked dump</h1>",
        f'<div class="sub">darkwatch scan, {escape(when)}: {len(files) - len(bad)} of {len(files)} '
        f'stream(s) read{f", {len(members)} archive member(s)" if members else ""}, '
        f'{d["bytes"] / 1e6:,.1f} MB in {d["elapsed_s"]:.1f} s</div>',
    ]
    if d["partial"]:
        p.append('<p class="warn"><b>Partial:</b> the scan was interrupted; the figures cover '
                 "what was read.</p>")
    if bad:
        p.append(f'<p class="warn"><b>{len(bad)} stream(s) not read in full</b> (listed below): '
                 "the figures may be low.</p>")
    p.append('<div class="kpis">'
             f'<div class="kpi"><b>{approx}{d["nir_distinct"]:,}</b>people (distinct valid NIRs)</div>'
             f'<div class="kpi"><b>{d["records"]:,}</b>records (rows)</div>'
             f'<div class="kpi"><b>{d.get("nir_duplicates", 0):,}</b>duplicate NIR rows</div>'
             f'<div class="kpi"><b>{len(d["labs"])}</b>laboratories named</div></div>')

    p.append("<h2>Nature of the breach and categories of data (GDPR art. 33(3)(a))</h2>")
    cats = sorted({_KIND_LABELS.get(c["kind"], c["kind"]) for c in kinds})
    health = d.get("health_fields") or []
    p.append(f"<p>Personal data found: {escape(', '.join(cats)) or 'no named column'}. "
             + ("<b>Health data present</b> (" + escape(", ".join(health)) + "): special-category "
                "data under art. 9." if set(health) - {"nir"} else "No health field recognised.")
             + "</p>")
    if d["columns"]:
        p.append("<table><tr><th>column</th><th>holds</th><th>told by</th></tr>")
        for c in d["columns"][:60]:
            src = {"both": "header and values", "values": "values", "header": "header"}.get(
                c.get("from", "header"), "header")
            p.append(f"<tr><td><code>{escape(c['name'])}</code></td>"
                     f"<td>{escape(_KIND_LABELS.get(c['kind'], c['kind']))}</td><td>{src}</td></tr>")
        p.append("</table>")
        if len(d["columns"]) > 60:
            p.append(f'<p class="sub">{len(d["columns"]) - 60:,} more columns not shown.</p>')

    p.append("<h2>Data subjects (from the NIRs: sex, birth year, birth département)</h2>")
    p.append('<div class="charts">')
    p.append(bar_chart("Sex", list(d.get("sex", {}).items()), _COLORS[1]))
    p.append(bar_chart("Born in the (two-digit year)", list(d.get("birth_years", {}).items()),
                       _COLORS[2]))
    p.append(bar_chart("Birth département (top 20)", list(d.get("birth_departments", {}).items()),
                       _COLORS[3]))
    p.append(bar_chart("Laboratories named (mentions)", list(d["labs"].items()), _COLORS[0]))
    p.append("</div>")
    p.append('<p class="sub">Distributions count each valid NIR found (a duplicate row counts '
             "each time). 99: born abroad; 97/98: overseas.</p>")

    if d["rules"]:
        p.append("<h2>Rules fired</h2><table><tr><th>rule</th><th>level</th>"
                 "<th class=\"num\">matches</th></tr>")
        for name, r in d["rules"].items():
            p.append(f"<tr><td>{escape(name)}</td><td>{escape(r['level'])}</td>"
                     f"<td class=\"num\">{r['matches']:,}</td></tr>")
        p.append("</table>")
    if d["samples"]:
        p.append("<h2>Samples (masked)</h2><p>" + "; ".join(
            f"<code>{escape(s)}</code>" for s in d["samples"]) + "</p>")
    p.append("<h2>Files and archive members</h2><table><tr><th>stream</th>"
             "<th class=\"num\">bytes</th><th class=\"num\">lines</th><th>note</th></tr>")
    for f in files[:200]:
        note = "; ".join([f.get("error", "")] + f.get("warnings", [])).strip("; ")
        p.append(f"<tr><td><code>{escape(f['path'])}</code></td><td class=\"num\">{f['bytes']:,}</td>"
                 f"<td class=\"num\">{f['lines']:,}</td><td>{escape(note)}</td></tr>")
    p.append("</table>")
    if len(files) > 200:
        p.append(f'<p class="sub">{len(files) - 200:,} more streams not listed.</p>')
    p.append("</body></html>\n")
    return "\n".join(p)
