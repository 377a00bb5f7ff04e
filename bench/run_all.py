"""Run every benchmark and write bench/REPORT.md (figures, ratios, machine, date) and a PNG plot.

    python bench/run_all.py [--quick]

Each bench is run as its own process, exactly as a user would run it; its figures are read from
its output, so the report never holds a number the bench did not print.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

BENCHES = {
    "rules": (["bench/rules.py"], ["--mb", "5"]),
    "index": (["bench/index.py", "--rounds", "3"], ["--docs", "10000", "--rounds", "1"]),
    "crawl_tor": (["bench/crawl_tor.py", "-n", "200", "-c", "8"], []),
    "scale": (["bench/scale.py"], ["--threads", "60"]),
    "scan": (["bench/scan.py"], ["--rows", "50000", "--dense-mb", "20", "--big-gb", "0.05"]),
}

NUM = r"([0-9][0-9,.]*)"
PATTERNS = {
    "rules": {
        "darkwatch MB/s": rf"darkwatch\s*:\s*{NUM} MB/s",
        "naive re MB/s": rf"naive re\s*:\s*{NUM} MB/s",
        "yara MB/s": rf"yara\s*:\s*{NUM} MB/s",
        "darkwatch/naive": rf"ratio darkwatch/naive:\s*{NUM}x",
        "darkwatch/yara": rf"ratio darkwatch/yara\s*:\s*{NUM}x",
    },
    "index": {
        "raw helpers.bulk docs/s": rf"raw helpers.bulk\s*:\s*{NUM} docs/s",
        "darkwatch sink docs/s": rf"darkwatch sink\s*:\s*{NUM} docs/s",
        "sink/raw": rf"ratio\s*:\s*{NUM}%",
    },
    "crawl_tor": {
        "raw fetch pages/s": rf"raw \(ceiling\)\s+\d+\s+[0-9.]+\s+{NUM}",
        "handler pages/s": rf"darkwatch handler\s+\d+\s+[0-9.]+\s+{NUM}",
        "crawl pages/s": rf"darkwatch crawl \(phpbb\)\s+\d+\s+[0-9.]+\s+{NUM}",
        "handler/ceiling": rf"darkwatch handler\s+\d+\s+[0-9.]+\s+[0-9.]+\s+{NUM}%",
        "crawl/ceiling": rf"darkwatch crawl \(phpbb\)\s+\d+\s+[0-9.]+\s+[0-9.]+\s+{NUM}%",
    },
    "scale": {
        "1 worker pages/s": rf"^\s+1\s+\d+\s+\d+\s+[0-9.]+\s+{NUM}\s*$",
        "2 workers pages/s": rf"^\s+2\s+\d+\s+\d+\s+[0-9.]+\s+{NUM}\s*$",
        "2 workers / 1 worker": rf"ratio 2 workers / 1 worker:\s*{NUM}x",
    },
    "scan": {
        "scan --summary MB/s": rf"darkwatch scan --summary\s*:\s*{NUM} MB/s",
        "scan --summary peak RSS MB": rf"darkwatch scan --summary\s*:.*?peak RSS {NUM} MB",
        "hyperscan baseline MB/s": rf"hyperscan baseline\s*:\s*{NUM} MB/s",
        "scan/hyperscan": rf"ratio darkwatch/hyperscan:\s*{NUM}x",
        "hit-dense peak RSS MB": rf"hit-dense .*?peak RSS {NUM} MB",
        "big dump MB/s": rf"big dump .*?: {NUM} MB/s",
        "big dump peak RSS MB": rf"big dump .*?peak RSS {NUM} MB",
    },
}
TARGETS = {"darkwatch/naive": ">= 10x", "darkwatch/yara": ">= 1x", "sink/raw": ">= 90%",
           "handler/ceiling": ">= 80%", "crawl/ceiling": ">= 80%",
           "2 workers / 1 worker": "> 1x (network-bound crawl)", "scan/hyperscan": ">= 0.5x",
           "hit-dense peak RSS MB": "< 300 MB", "big dump peak RSS MB": "<= 300 MB"}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def run(name: str, quick: bool) -> tuple[str, dict[str, float]]:
    argv, quick_args = BENCHES[name]
    cmd = [sys.executable, *argv, *(quick_args if quick else [])]
    print(f"== {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    out = res.stdout
    figures = _figures(name, out)
    if res.returncode != 0:
        out += f"\n[exit {res.returncode}]\n{res.stderr[-2000:]}"
    return out, figures


def _figures(name: str, out: str) -> dict[str, float]:
    figures = {}
    for label, pattern in PATTERNS[name].items():
        m = re.search(pattern, out, re.M)
        if m:
            figures[label] = float(m.group(1).replace(",", ""))
    return figures


def _previous(report: Path) -> dict[str, tuple[str, str]]:
    """Each bench's section of an earlier report: name -> (when it ran, its output)."""
    if not report.is_file():
        return {}
    text = report.read_text()
    default = re.search(r"on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", text)
    out = {}
    for m in re.finditer(r"^## (\w+)\n\n(?:Run on ([^\n]+)\.\n\n)?```\n(.*?)\n```", text, re.M | re.S):
        out[m.group(1)] = (m.group(2) or (default.group(1) if default else "an earlier run"),
                           m.group(3))
    return out


def plot(results: dict[str, dict[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [("rules", "MB/s", ["darkwatch MB/s", "yara MB/s", "naive re MB/s"]),
              ("index", "docs/s", ["darkwatch sink docs/s", "raw helpers.bulk docs/s"]),
              ("crawl_tor", "pages/s", ["crawl pages/s", "handler pages/s", "raw fetch pages/s"]),
              ("scale", "pages/s", ["2 workers pages/s", "1 worker pages/s"])]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for ax, (name, unit, labels) in zip(axes, panels, strict=True):
        vals = [results.get(name, {}).get(k, 0.0) for k in labels]
        ax.bar([k.replace(f" {unit}", "") for k in labels], vals,
               color=["#c0392b", "#7f8c8d", "#bdc3c7"][: len(labels)])
        ax.set_title(f"{name} ({unit})")
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle("darkwatch throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller inputs (minutes, noisier)")
    ap.add_argument("--only", nargs="*", choices=list(BENCHES), default=list(BENCHES))
    args = ap.parse_args()
    outputs, results = {}, {}
    for name in args.only:
        outputs[name], results[name] = run(name, args.quick)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    dates = {name: now for name in args.only}
    # benches not run this time keep their last output (and say when it was taken)
    for name, (date, text) in _previous(HERE / "REPORT.md").items():
        if name in BENCHES and name not in outputs:
            outputs[name], dates[name] = text, date
            results[name] = _figures(name, text)
    names = [n for n in BENCHES if n in outputs]
    png = HERE / "throughput.png"
    plotted = plot(results, png)
    lines = [
        "# darkwatch benchmark report", "",
        f"Generated by `bench/run_all.py{' --quick' if args.quick else ''}"
        f"{' --only ' + ' '.join(args.only) if args.only != list(BENCHES) else ''}` on {now}"
        " (each section says when its bench ran).", "",
        f"Machine: {machine()}", "",
        "| bench | figure | value | target |", "| --- | --- | --- | --- |",
    ]
    for name in names:
        for label in PATTERNS[name]:
            value = results[name].get(label)
            shown = "not printed (see output below)" if value is None else f"{value:g}"
            lines.append(f"| {name} | {label} | {shown} | {TARGETS.get(label, '')} |")
    if plotted:
        lines += ["", "![throughput](throughput.png)"]
    for name in names:
        lines += ["", f"## {name}", "", f"Run on {dates[name]}.", "", "```",
                  outputs[name].strip(), "```"]
    (HERE / "REPORT.md").write_text("\n".join(lines) + "\n")
    print((HERE / "REPORT.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
