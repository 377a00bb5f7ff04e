"""The wheel is what users install: it carries the shipped rule packs and no test code; the lab
(fixture forums, private Tor network, `lab`/`demo` commands) is a distribution of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.support.cli import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Built from a copy of what the Dockerfile copies: a checkout's stale build/ directory (which
    setuptools reuses) must not hide or add files, and the shared checkout gets no build output."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "crawler", src / "crawler", symlinks=True, ignore=skip)  # rulepacks -> ../rules
    shutil.copytree(REPO / "rules", src / "rules", ignore=skip)
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                          str(src)], capture_output=True, text=True, timeout=600)
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
    # the lab (fixture forums, the private Tor network, `lab`/`demo`) is its own distribution
    lab = [n for n in names if n.startswith(("darkwatch_lab/", "lab/", "crawler/lab/"))
           or n in ("crawler/cli/lab.py", "crawler/cli/demo.py")]
    assert not lab, lab
    assert not [n for n in names if "/forum_" in n or n.endswith(("/tornet.py", "/redis_server.py"))]
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"crawler", wheel.name.split("-py3")[0] + ".dist-info"}, top
    entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
    assert entry_points and "darkwatch.commands" not in zipfile.ZipFile(wheel).read(entry_points).decode()


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


def test_the_lab_distribution_adds_its_commands():
    """The lab's wheel carries darkwatch_lab and registers `lab` and `demo` for the product's CLI;
    the checkout's set-up installed it, so both commands answer."""
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="darkwatch.commands")}
    assert eps == {"lab": "darkwatch_lab.cli.lab:register", "demo": "darkwatch_lab.cli.demo:register"}
    for cmd in ("lab", "demo"):
        res = subprocess.run([sys.executable, "-m", "crawler", cmd, "--help"], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and f"usage: darkwatch {cmd}" in res.stdout, res.stderr[-2000:]


def test_without_the_lab_the_commands_say_how_to_get_it(monkeypatch, capsys):
    """No lab installed (no entry point): `darkwatch lab ...` names the install command instead of
    argparse's bare "invalid choice"; the product's commands are untouched."""
    from crawler import cli

    monkeypatch.setattr(cli, "_plugin_commands", dict)
    for cmd in ("lab", "demo"):
        with pytest.raises(SystemExit) as exc:
            cli.main([cmd, "up"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "not installed: pip install -e ./lab" in err and "Traceback" not in err, err
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert "rules" in choices and "lab" not in choices and "demo" not in choices
