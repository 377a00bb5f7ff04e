"""The wheel is what users install: it carries the shipped rule packs and no test code."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                          str(REPO)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    (whl,) = out.glob("darkwatch-*.whl")
    return whl


def test_wheel_ships_the_rule_packs_and_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("crawler/rulepacks/", 1)[1] for n in names if "crawler/rulepacks/" in n}
    in_repo = {str(p.relative_to(REPO / "rules")) for p in (REPO / "rules").rglob("*.yml")}
    assert in_repo and in_repo <= shipped, in_repo - shipped
    assert "schema.json" in shipped
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]


def test_installed_wheel_lists_its_rules_outside_the_checkout(wheel, tmp_path):
    """Unpacked wheel first on the path, run from elsewhere: `rules list` finds the shipped packs
    inside the installed package, not in a checkout."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import crawler; "
            "assert crawler.__file__.startswith(sys.argv[1]), crawler.__file__; "
            "from crawler.cli import main; sys.exit(main(['rules', 'list']))")
    res = subprocess.run([sys.executable, "-c", code, str(site)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "fr-nir" in res.stdout and "fr-health-leak" in res.stdout, res.stdout[-2000:]
    ver = subprocess.run([sys.executable, "-c", code.replace("['rules', 'list']", "['version']"),
                          str(site)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert f"shipped rules: {site}/crawler/rulepacks" in ver.stdout, ver.stdout
