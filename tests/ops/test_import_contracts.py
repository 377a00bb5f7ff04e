"""The architecture's import contracts (pyproject.toml [tool.importlinter]) hold, and they bite:
a forbidden import planted in a copy of the package makes `lint-imports` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO

LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_contracts_hold_on_the_tree():
    res = lint(REPO)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "BROKEN" not in res.stdout and res.stdout.count("KEPT") >= 3


def copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "crawler", root / "crawler", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_scrapy_in_the_rules_breaks_the_build(tmp_path):
    root = copy_tree(tmp_path)
    with open(root / "crawler" / "rules" / "validators.py", "a") as fh:
        fh.write("\nimport scrapy  # noqa\n")
    res = lint(root)
    assert res.returncode != 0
    assert "crawler.rules is not allowed to import scrapy" in res.stdout, res.stdout[-3000:]


@pytest.mark.parametrize("module,line,forbidden", [
    ("sinks/sqlite.py", "from darkwatch_lab import tornet", "darkwatch_lab"),
    ("cli/version.py", "from darkwatch_lab.cli import demo", "darkwatch_lab"),  # not even the CLI
    ("cli/version.py", "from tests.support import cli", "tests"),
])
def test_test_tooling_in_the_product_breaks_the_build(tmp_path, module, line, forbidden):
    root = copy_tree(tmp_path)
    with open(root / "crawler" / module, "a") as fh:
        fh.write(f"\n{line}  # noqa\n")
    res = lint(root)
    assert res.returncode != 0
    importer = "crawler." + module.removesuffix(".py").replace("/", ".")
    assert f"crawler is not allowed to import {forbidden}" in res.stdout, res.stdout[-3000:]
    assert f"{importer} -> {forbidden}" in res.stdout, res.stdout[-3000:]


def test_a_package_cycle_breaks_the_build(tmp_path):
    """crawler.sinks stores incidents in each post's transaction (sinks -> incidents): an import
    back from incidents to sinks is a cycle, and CI says which dependency to remove."""
    root = copy_tree(tmp_path)
    with open(root / "crawler" / "incidents" / "model.py", "a") as fh:
        fh.write("\nfrom crawler.sinks import base  # noqa\n")
    res = lint(root)
    assert res.returncode != 0
    assert "No cycles are allowed in crawler" in res.stdout, res.stdout[-3000:]
    assert ".incidents -> .sinks" in res.stdout or ".sinks -> .incidents" in res.stdout
