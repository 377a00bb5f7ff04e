"""``darkwatch scan --html FILE``: the scope report renders in a real headless Chromium.

The page is rendered from the generated lab dump, screenshot taken, and the screenshot's pixels
are checked for each chart's bar colour (a chart that failed to draw leaves none). The
screenshot is kept next to the test's temp files (look at it: ``--basetemp``).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest

from crawler.rules.report_html import _COLORS
from tests.support.dumps import write_dump

ENV = {**os.environ, "DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"}
CHROMIUM = next((shutil.which(b) for b in ("chromium-headless-shell", "chromium", "chromium-browser")
                 if shutil.which(b)), None)


def png_pixels(path: Path) -> tuple[int, int, Counter]:
    """(width, height, colour counts) of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    colours: Counter = Counter()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 2 == 0:  # every other row is plenty to see the bars
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
        prev = line
    return w, h, colours


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup.sh installs it)")
def test_html_report_renders_with_its_charts(tmp_path):
    truth = write_dump(tmp_path / "dump.csv", 2000, seed=13)
    html = tmp_path / "scope.html"
    out = subprocess.run([sys.executable, "-m", "crawler", "scan", str(tmp_path / "dump.csv"),
                          "--summary", "--html", str(html)], capture_output=True, text=True,
                         env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 4
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external asset
    assert f"{truth.nir_distinct:,}</b>people" in page
    assert "GDPR art. 33(3)(a)" in page and "Health data present" in page
    assert not any(n in page for n in truth.nirs)  # masked samples only
    shot = tmp_path / "scope.png"
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", "--window-size=1100,1800", f"--screenshot={shot}",
                          html.as_uri()], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert shot.exists(), run.stderr[-2000:]
    w, h, colours = png_pixels(shot)
    assert (w, h) == (1100, 1800)
    for hex_colour in _COLORS[:4]:  # the four charts' bars
        assert colours[bytes.fromhex(hex_colour[1:])] > 200, hex_colour
