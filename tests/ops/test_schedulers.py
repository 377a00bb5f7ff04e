"""deploy/systemd units pass ``systemd-analyze verify``; deploy/cron/darkwatch.cron is valid cron.

The cron check is a strict parser of the standard (Vixie/cronie) syntax written here: the
format is small and fixed, and a dependency such as croniter accepts extensions (seconds
field, ``L``, ``#``) that cron itself rejects.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import REPO

CRON = REPO / "deploy/cron/darkwatch.cron"
UNITS = REPO / "deploy/systemd"
ENV_EXAMPLE = REPO / "deploy/darkwatch.env.example"

# --- cron ---------------------------------------------------------------------------------
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
         4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}
MACROS = {"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


def _value(text: str, idx: int) -> int:
    lo, hi = FIELDS[idx][1:]
    if text.isdigit():
        v = int(text)
    elif idx in NAMES and text.lower() in NAMES[idx]:
        v = NAMES[idx].index(text.lower()) + (1 if idx == 3 else 0)
    else:
        raise ValueError(f"{FIELDS[idx][0]}: {text!r} is not a number or name")
    if not lo <= v <= hi:
        raise ValueError(f"{FIELDS[idx][0]}: {v} out of range {lo}-{hi}")
    return v


def parse_field(text: str, idx: int) -> set[int]:
    """The values a cron field matches; ValueError with the reason when it is invalid."""
    lo, hi = FIELDS[idx][1:]
    out: set[int] = set()
    for item in text.split(","):
        rng, _, step_s = item.partition("/")
        if _ and not step_s.isdigit():
            raise ValueError(f"{FIELDS[idx][0]}: bad step in {item!r}")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValueError(f"{FIELDS[idx][0]}: step must be >= 1 in {item!r}")
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a_s, b_s = rng.split("-", 1)
            a, b = _value(a_s, idx), _value(b_s, idx)
            if a > b:
                raise ValueError(f"{FIELDS[idx][0]}: reversed range {item!r}")
        else:
            a = b = _value(rng, idx)
            if step_s:  # "5/10" means 5-max/10 in cronie
                b = hi
        out.update(range(a, b + 1, step))
    return out


def cron_entries(text: str, with_user: bool = True) -> list[tuple[list[set[int]] | str, str, str]]:
    """(schedule, user, command) per job line; raises ValueError naming the bad line."""
    jobs = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or ENV_LINE.match(s):
            continue
        try:
            if s.startswith("@"):
                macro, rest = s.split(None, 1)
                if macro not in MACROS:
                    raise ValueError(f"unknown macro {macro}")
                sched: list[set[int]] | str = macro
            else:
                parts = s.split(None, 5)
                if len(parts) < 6:
                    raise ValueError("expected 5 time fields, a user and a command")
                sched = [parse_field(p, i) for i, p in enumerate(parts[:5])]
                rest = parts[5]
            user, command = rest.split(None, 1) if with_user else ("", rest)
            if "%" in command.replace("\\%", ""):
                raise ValueError("unescaped % in the command (cron turns it into a newline)")
            shlex.split(command)  # balanced quotes
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}: {line!r}") from None
        jobs.append((sched, user, command))
    if not text.endswith("\n"):
        raise ValueError("cron files must end with a newline (cron ignores an unterminated last line)")
    return jobs


def test_cron_parser_rejects_what_cron_rejects():
    ok = "0 * * * * u cmd\n"
    assert cron_entries(ok)[0][0][0] == {0}
    for bad in ("60 * * * * u cmd\n", "* 24 * * * u cmd\n", "* * 0 * * u cmd\n", "* * * 13 * u cmd\n",
                "*/0 * * * * u cmd\n", "5-1 * * * * u cmd\n", "* * * * * u date +%s\n",
                "* * * * u cmd\n", "0 * * * * u echo 'x\n", "@hourlyy u cmd\n", "0 * * * * u cmd"):
        with pytest.raises(ValueError):
            cron_entries(bad)
    assert parse_field("*/15", 0) == {0, 15, 30, 45}
    assert parse_field("mon-fri", 4) == {1, 2, 3, 4, 5}


def test_cron_file_runs_hourly_as_darkwatch_with_env_file_report_and_metrics():
    text = CRON.read_text()
    jobs = cron_entries(text)
    assert len(jobs) == 1
    sched, user, command = jobs[0]
    assert isinstance(sched, list)
    minute, hour, dom, month, dow = sched
    assert len(minute) == 1 and hour == set(range(24)) and dom == set(range(1, 32))
    assert month == set(range(1, 13)) and dow == set(range(8))
    assert user == "darkwatch"
    assert "flock" not in command  # darkwatch locks per forum itself
    assert ". /etc/darkwatch/darkwatch.env" in command and "set -a" in command
    args = shlex.split(command.split("darkwatch crawl", 1)[1].split("|")[0])
    assert "--report" in args and "--metrics-file" in args and "--config" in args
    assert command.rstrip().endswith("logger -t darkwatch-crawl -p user.info")
    assert "MAILTO=" in text


def test_cron_command_runs_under_sh(tmp_path):
    """The job line is valid POSIX sh (cron runs it with SHELL=/bin/sh)."""
    _, _, command = cron_entries(CRON.read_text())[0]
    res = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# --- systemd --------------------------------------------------------------------------------
def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            current = sections.setdefault(s[1:-1], [])
            continue
        assert current is not None, f"{path.name}:{n}: setting outside a section"
        key, sep, value = s.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"{path.name}:{n}: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def settings(path: Path, section: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in parse_unit(path)[section]:
        out.setdefault(k, []).append(v)
    return out


def test_service_is_a_hardened_non_root_oneshot():
    svc = settings(UNITS / "darkwatch-crawl.service", "Service")
    assert svc["Type"] == ["oneshot"]
    assert svc["User"] == ["darkwatch"]
    assert svc["EnvironmentFile"] == ["/etc/darkwatch/darkwatch.env"]
    for key, want in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                      "ProtectHome": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
                      "CapabilityBoundingSet": ""}.items():
        assert svc[key] == [want], key
    assert "/var/lib/darkwatch" in svc["ReadWritePaths"][0].split()
    (exec_start,) = svc["ExecStart"]
    args = shlex.split(exec_start)
    assert args[1] == "crawl" and "--report" in args and "--metrics-file" in args
    report = args[args.index("--report") + 1]
    metrics = args[args.index("--metrics-file") + 1]
    writable = [p.lstrip("-") for p in svc["ReadWritePaths"][0].split()]
    for path in (report, metrics):
        assert any(path.startswith(w + "/") for w in writable), f"{path} is not writable under ProtectSystem"


def test_timer_is_hourly_randomised_and_persistent():
    t = settings(UNITS / "darkwatch-crawl.timer", "Timer")
    assert t["OnCalendar"] == ["hourly"]
    assert t["Persistent"] == ["true"]
    assert t["RandomizedDelaySec"] and t["RandomizedDelaySec"] != ["0"]
    assert t["Unit"] == ["darkwatch-crawl.service"]
    assert settings(UNITS / "darkwatch-crawl.timer", "Install")["WantedBy"] == ["timers.target"]


def _verify(tmp_path: Path, service_text: str) -> subprocess.CompletedProcess:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: apt-get install systemd"
    (tmp_path / "darkwatch-crawl.service").write_text(service_text)
    shutil.copy(UNITS / "darkwatch-crawl.timer", tmp_path / "darkwatch-crawl.timer")
    return subprocess.run(
        [tool, "verify", "--man=no", str(tmp_path / "darkwatch-crawl.service"),
         str(tmp_path / "darkwatch-crawl.timer")],
        capture_output=True, text=True, timeout=60,
    )


def _installed(text: str) -> str:
    # verify checks that ExecStart's program exists: point it at this machine's darkwatch.
    exe = shutil.which("darkwatch")
    assert exe, "darkwatch is not installed (pip install -e .)"
    return text.replace("/opt/darkwatch/.venv/bin/darkwatch", exe)


def test_units_pass_systemd_analyze_verify(tmp_path):
    res = _verify(tmp_path, _installed((UNITS / "darkwatch-crawl.service").read_text()))
    # verify exits 0 on unknown keys and bad values: its warnings are failures here.
    ours = [ln for ln in res.stderr.splitlines() if "darkwatch-crawl" in ln]
    assert res.returncode == 0 and ours == [], res.stderr


def test_verify_check_catches_a_bad_setting(tmp_path):
    bad = _installed((UNITS / "darkwatch-crawl.service").read_text()).replace(
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RestrictAddressFamilies=AF_UNIX AF_BOGUS")
    res = _verify(tmp_path, bad)
    assert any("darkwatch-crawl" in ln for ln in res.stderr.splitlines()), res.stderr


# --- env file ---------------------------------------------------------------------------------
ENV_ASSIGN = re.compile(r"^([A-Z][A-Z0-9_]*)='([^']*)'$")


def test_env_example_is_valid_for_systemd_sh_and_compose(tmp_path):
    names = []
    for n, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = ENV_ASSIGN.match(line)
        assert m, f"darkwatch.env.example:{n}: use NAME='value' (got {line!r})"
        assert m.group(2) == "", f"line {n}: the example must not hold a value"
        names.append(m.group(1))
    for needed in ("DARKWATCH_FINGERPRINT_KEY", "TOR_CONTROL_PASSWORD", "ES_API_KEY", "FORUM_USER",
                   "FORUM_PASS", "SMTP_PASS"):
        assert needed in names
    # sh reads it as the cron line does
    env_file = tmp_path / "e.env"
    env_file.write_text(ENV_EXAMPLE.read_text().replace("FORUM_PASS=''", "FORUM_PASS='p$ss \"w'"))
    res = subprocess.run(["sh", "-c", f"set -a; . {env_file}; set +a; printf %s \"$FORUM_PASS\""],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode == 0 and res.stdout == 'p$ss "w', res.stderr


def test_env_example_covers_every_variable_the_configs_use():
    import yaml

    used: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            used.update(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", node))

    walk(yaml.safe_load((REPO / "deploy/compose/darkwatch.yml").read_text()))
    assert used, "the compose config must take its secrets from the environment"
    names = {m.group(1) for line in ENV_EXAMPLE.read_text().splitlines() if (m := ENV_ASSIGN.match(line))}
    assert used - names == set()


@pytest.mark.parametrize("unit", ["darkwatch-worker.service", "darkwatch-daemon.service"])
def test_long_running_units_pass_verify_and_restart_on_failure(unit, tmp_path):
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: apt-get install systemd"
    text = _installed((UNITS / unit).read_text())
    (tmp_path / unit).write_text(text)
    res = subprocess.run([tool, "verify", "--man=no", str(tmp_path / unit)],
                         capture_output=True, text=True, timeout=60)
    ours = [ln for ln in res.stderr.splitlines() if unit in ln]
    assert res.returncode == 0 and ours == [], res.stderr
    svc = settings(UNITS / unit, "Service")
    assert svc["Type"] == ["simple"] and svc["Restart"] == ["on-failure"]
    assert svc["User"] == ["darkwatch"] and svc["NoNewPrivileges"] == ["yes"]
    assert settings(UNITS / unit, "Install")["WantedBy"] == ["multi-user.target"]
