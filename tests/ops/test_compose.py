"""deploy/docker-compose.yml against the Compose Specification schema, plus the deployment rules
(internal networks, secrets only from files, Kibana only on loopback), and the Dockerfile's
install steps against scripts/setup.sh.

No Docker engine here: the schema (vendored in tests/ops/schema, see its README) is what
``docker compose config`` validates against. When a ``docker compose``/``docker-compose``
client is installed, it is run too.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support.cli import REPO

COMPOSE = REPO / "deploy/docker-compose.yml"
SCHEMA = Path(__file__).parent / "schema/compose-spec.json"
DOCKERFILE = REPO / "Dockerfile"
SETUP = REPO / "scripts/setup.sh"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_validates_against_the_compose_spec(compose, validator):
    assert _errors(validator, compose) == []


def test_schema_check_rejects_a_broken_compose_file(compose, validator):
    bad = copy.deepcopy(compose)
    bad["services"]["crawler"]["restart_policy"] = "always"  # not a compose key
    bad["services"]["crawler"]["depends_on"]["tor"]["condition"] = "service_ready"  # not in the enum
    errs = _errors(validator, bad)
    assert any("restart_policy" in e for e in errs) and any("depends_on" in e for e in errs), errs


def test_versions_pinned_and_elastic_security_on(compose):
    es = compose["services"]["elasticsearch"]
    kb = compose["services"]["kibana"]
    es_ver = es["image"].rsplit(":", 1)[1]
    assert re.fullmatch(r"8\.19\.\d+", es_ver)
    assert kb["image"].rsplit(":", 1)[1] == es_ver, "Kibana must match Elasticsearch's version"
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["ELASTIC_PASSWORD_FILE"].startswith("/run/secrets/")


def test_only_kibana_publishes_a_port_and_only_on_loopback(compose):
    published = {name: svc.get("ports", []) for name, svc in compose["services"].items() if svc.get("ports")}
    assert list(published) == ["kibana"]
    for port in published["kibana"]:
        assert str(port).startswith("127.0.0.1:"), port
    for name, svc in compose["services"].items():
        assert "expose" not in svc or name == "tor"
        assert svc.get("network_mode") is None, f"{name}: network_mode bypasses the networks"


def test_networks_only_tor_reaches_out(compose):
    nets = compose["networks"]
    external = {n for n, spec in nets.items() if not (spec or {}).get("internal")}
    for name, svc in compose["services"].items():
        joined = set(svc.get("networks") or {})
        assert joined, f"{name} must name its networks (no default network)"
        if name not in ("tor", "kibana"):
            assert not joined & external, f"{name} must stay on internal networks"
    assert set(compose["services"]["tor"]["networks"]) & external, "tor needs the Internet"
    crawler_nets = set(compose["services"]["crawler"]["networks"])
    assert crawler_nets <= {n for n in nets if nets[n] and nets[n].get("internal")}
    tor_ip = compose["services"]["tor"]["networks"]["crawl"]["ipv4_address"]
    cfg = yaml.safe_load((REPO / "deploy/compose/darkwatch.yml").read_text())
    assert cfg["tor"]["socks"].split(":")[0] == tor_ip == cfg["tor"]["control"].split(":")[0]


SECRETISH = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|fingerprint[_-]?key|cookie)")


def test_secrets_only_from_files_or_env_files(compose):
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use the mapping form for environment"
        for key, value in env.items():
            if SECRETISH.search(key):
                assert key.endswith("_FILE") and str(value).startswith("/run/"), (
                    f"{name}: {key} must point to a secret file, not hold a value")
            assert "${" not in str(value) or not SECRETISH.search(str(value)), f"{name}: {key}"
        for file in svc.get("env_file") or []:
            assert not str(file).endswith(".example"), "the example env file is a template"
    for spec in compose["secrets"].values():
        assert spec["file"].startswith("./secrets/")


def test_containers_are_hardened(compose):
    for name, svc in compose["services"].items():
        assert svc.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert not svc.get("privileged"), name
    for name in ("crawler", "tor", "kibana-import"):
        assert compose["services"][name].get("read_only") is True, name
    crawler = compose["services"]["crawler"]
    mounts = [m if isinstance(m, str) else f"{m['source']}:{m['target']}" for m in crawler["volumes"]]
    assert any(m.startswith("darkwatch-state:/var/lib/darkwatch") for m in mounts)


def test_one_shot_services_and_ordering(compose):
    s = compose["services"]
    assert s["es-setup"]["restart"] == "no" and s["kibana-import"]["restart"] == "no"
    assert s["kibana"]["depends_on"]["es-setup"]["condition"] == "service_completed_successfully"
    assert s["kibana-import"]["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert s["kibana-import"]["command"][:2] == ["kibana", "import"]
    assert any(str(v).startswith("./kibana:") for v in s["kibana-import"]["volumes"])
    assert s["crawler"]["depends_on"]["tor"]["condition"] == "service_healthy"
    assert any(str(v).startswith("./tor/torrc:") for v in s["tor"]["volumes"])
    for name, svc in s.items():
        for path in [v.split(":")[0] for v in svc.get("volumes", []) if isinstance(v, str)]:
            if path.startswith("./") and name != "kibana-import" and "tor/" not in path:
                assert (REPO / "deploy" / path).exists(), f"{name}: {path} is missing"


def test_compose_crawler_config_loads(monkeypatch):
    from crawler.config.loader import load_config

    for var in ("ES_API_KEY", "TOR_CONTROL_PASSWORD", "DARKWATCH_FINGERPRINT_KEY", "SMTP_USER", "SMTP_PASS"):
        monkeypatch.setenv(var, "x" * 32)
    cfg = load_config(REPO / "deploy/compose/darkwatch.yml")
    assert cfg.store.sqlite.startswith("/var/lib/darkwatch/")
    assert cfg.store.elasticsearch and cfg.store.elasticsearch.url == "http://elasticsearch:9200"


# --- Dockerfile vs scripts/setup.sh -------------------------------------------------------
def _pip_steps(lines: list[str]) -> list[list[str]]:
    steps = []
    for line in lines:
        for part in re.split(r"&&|;", line):
            words = shlex.split(part, comments=True)
            if words and (words[0].endswith("/pip") or words[:3] == ["python", "-m", "pip"]):
                # flags for quietness and output redirections do not change what is installed
                steps.append([w for w in words if w not in ("-q", "--quiet") and not re.match(r"^\d?>", w)])
    return steps


def dockerfile_runs() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [ln.split(None, 1)[1] for ln in text.splitlines() if ln.startswith("RUN ")]


def setup_lines() -> list[str]:
    return [ln.strip() for ln in SETUP.read_text().replace("\\\n", " ").splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def test_dockerfile_installs_like_setup_sh():
    """Same steps: a venv, pip upgraded, the project installed from its pyproject; the image
    only drops ``-e`` (no source tree at run time), the ``[test]`` extra and the lab (./lab)."""
    docker = _pip_steps(dockerfile_runs())
    setup = _pip_steps(setup_lines())
    assert len(docker) == len(setup) == 2, (docker, setup)

    def norm(step: list[str]) -> list[str]:
        # the pip of a venv wherever it lives; editable/test-extra dropped for the image
        return ["pip" if w.endswith("/pip") else "." if w == ".[test]" else w for w in step
                if w not in ("-e", "./lab")]

    assert [norm(s) for s in docker] == [norm(s) for s in setup]
    assert "./lab" in setup[-1] and not any("lab" in w for s in docker for w in s)
    assert any("-m venv" in r for r in dockerfile_runs()) and any("-m venv" in ln for ln in setup_lines())


def test_dockerfile_runs_as_non_root_with_state_volume_and_healthcheck():
    text = DOCKERFILE.read_text()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    assert all(s.startswith("python:3.11-slim") for s in stages)
    final = stages[-1]
    users = re.findall(r"(?m)^USER (\S+)", final)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"(?m)^VOLUME \[\"/var/lib/darkwatch\"\]", final)
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*CMD", final)
    entry = REPO / "deploy/compose/darkwatch-entrypoint.sh"
    assert "COPY --chmod=0755 deploy/compose/darkwatch-entrypoint.sh" in final and entry.exists()
    # everything the Dockerfile copies is sent by the build context (.dockerignore)
    ignored = [ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")]
    copies = [ln.split()[1:-1] for ln in text.splitlines() if ln.startswith("COPY ") and "--from=" not in ln]
    assert copies
    for src in copies:
        for path in src:
            if path.startswith("--"):
                continue
            assert (REPO / path).exists(), path
            assert path not in ignored and path.split("/")[0] not in ignored, f"{path} is in .dockerignore"


def test_non_editable_build_contains_the_package_data(tmp_path):
    """``pip install .`` (the image's step) builds a wheel from the pyproject: build it and check
    it carries the code and data files the crawler reads at run time."""
    src = tmp_path / "src"  # what the Dockerfile copies, built outside the shared checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "crawler", src / "crawler", ignore=shutil.ignore_patterns("__pycache__"))
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    (wheel,) = (tmp_path / "dist").glob("darkwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "crawler/cli/crawl.py" in names and "crawler/metrics.py" in names
    data = [n for n in (REPO / "crawler").rglob("*") if n.suffix in (".yml", ".yaml", ".json", ".html")]
    for f in data:
        assert str(f.relative_to(REPO)) in names, f"{f} is not packaged: the image would lack it"
