"""The container scripts in deploy/compose/, run for real with sh/bash (and Debian's tor).

- darkwatch-entrypoint.sh: ``NAME_FILE`` secrets become ``NAME``; the healthcheck follows the
  loop's heartbeat. A stand-in ``darkwatch`` on PATH records what the entrypoint runs.
- tor-entrypoint.sh: the hashed control password reaches tor; tor itself checks the result
  (``--verify-config``).
- es-setup.sh: the requests it sends (against a loopback HTTP server that records them):
  credentials with awkward characters, valid JSON bodies, API key files mode 0600.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import stat
import subprocess
import threading
import time

import pytest

from tests.support.cli import REPO

ENTRY = REPO / "deploy/compose/darkwatch-entrypoint.sh"
TOR_ENTRY = REPO / "deploy/compose/tor-entrypoint.sh"
ES_SETUP = REPO / "deploy/compose/es-setup.sh"


@pytest.fixture
def fake_darkwatch(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "darkwatch"
    exe.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$DW_LOG"\n'
                   'printf "TOR_CONTROL_PASSWORD=%s\\n" "${TOR_CONTROL_PASSWORD:-}" >> "$DW_LOG"\n'
                   'env | grep -c "_FILE=" >> "$DW_LOG" || true\n')
    exe.chmod(0o755)
    return bindir


def run_entry(args, tmp_path, bindir, **env):
    full = {"PATH": f"{bindir}:/usr/bin:/bin", "DW_LOG": str(tmp_path / "calls.log"),
            "DARKWATCH_STATE": str(tmp_path / "state"), **env}
    (tmp_path / "state").mkdir(exist_ok=True)
    return subprocess.run(["sh", str(ENTRY), *args], capture_output=True, text=True, env=full, timeout=30)


def test_file_secrets_become_variables_and_args_pass_through(tmp_path, fake_darkwatch):
    secret = tmp_path / "tor_pw"
    secret.write_text("s3cr3t pass")
    res = run_entry(["kibana", "import", "--url", "http://kibana:5601"], tmp_path, fake_darkwatch,
                    TOR_CONTROL_PASSWORD_FILE=str(secret))
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "calls.log").read_text().splitlines()
    assert log == ["kibana import --url http://kibana:5601", "TOR_CONTROL_PASSWORD=s3cr3t pass", "0"]


def test_missing_secret_file_is_a_clear_error(tmp_path, fake_darkwatch):
    res = run_entry(["version"], tmp_path, fake_darkwatch, ES_API_KEY_FILE=str(tmp_path / "nope"))
    assert res.returncode == 2
    assert "ES_API_KEY_FILE" in res.stderr and "not a readable file" in res.stderr
    assert not (tmp_path / "calls.log").exists()


def test_health_follows_the_heartbeat(tmp_path, fake_darkwatch):
    state = tmp_path / "state"
    state.mkdir()
    # no heartbeat yet (one-shot use): falls back to "darkwatch version"
    assert run_entry(["health"], tmp_path, fake_darkwatch).returncode == 0
    assert (tmp_path / "calls.log").read_text().startswith("version")
    beat = state / "heartbeat"
    beat.touch()
    assert run_entry(["health"], tmp_path, fake_darkwatch, DARKWATCH_INTERVAL="60").returncode == 0
    old = time.time() - 2 * 60 - 601
    os.utime(beat, (old, old))
    res = run_entry(["health"], tmp_path, fake_darkwatch, DARKWATCH_INTERVAL="60")
    assert res.returncode == 1 and "heartbeat" in res.stderr


def test_loop_crawls_with_report_and_metrics(tmp_path, fake_darkwatch):
    env = {"PATH": f"{fake_darkwatch}:/usr/bin:/bin", "DW_LOG": str(tmp_path / "calls.log"),
           "DARKWATCH_STATE": str(tmp_path / "state"), "DARKWATCH_INTERVAL": "3600"}
    (tmp_path / "state").mkdir()
    proc = subprocess.Popen(["sh", str(ENTRY), "loop"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        calls = tmp_path / "calls.log"
        deadline = time.time() + 60
        # Wait for one whole logged call (a created but still empty file is not one).
        while time.time() < deadline and not (calls.exists() and calls.read_text().endswith("\n")):
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
    first = (tmp_path / "calls.log").read_text().splitlines()[0].split()
    assert first[:2] == ["crawl", "--config"]
    assert first[first.index("--report") + 1] == f"{tmp_path}/state/last-run.json"
    assert first[first.index("--metrics-file") + 1] == f"{tmp_path}/state/metrics/darkwatch.prom"
    assert (tmp_path / "state/heartbeat").exists()


def test_tor_entrypoint_gives_tor_a_valid_hashed_password(tmp_path):
    tor = shutil.which("tor")
    assert tor, "tor is missing: apt-get install tor"
    secret = tmp_path / "pw"
    secret.write_text("control-pass")
    torrc = tmp_path / "torrc"
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    # the settings the compose deployment needs (see the tor service in deploy/docker-compose.yml)
    torrc.write_text(f"SocksPort 0.0.0.0:9050\nSocksPolicy accept 172.30.90.0/24\nSocksPolicy reject *\n"
                     f"ControlPort 0.0.0.0:9051\nCookieAuthentication 0\nDataDirectory {data}\n")
    script = TOR_ENTRY.read_text().replace("/etc/tor/torrc", str(torrc))
    res = subprocess.run(["sh", "-c", script, "tor-entrypoint", "--verify-config"], capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/usr/sbin:/bin",
                                                     "TOR_CONTROL_PASSWORD_FILE": str(secret)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Configuration was valid" in res.stdout
    # without the password tor would close a ControlPort open beyond loopback
    assert "unauthenticated connections" not in res.stdout
    assert "control-pass" not in res.stdout + res.stderr
    secret.write_text("")
    res = subprocess.run(["sh", "-c", script, "tor-entrypoint", "--verify-config"], capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/usr/sbin:/bin",
                                                     "TOR_CONTROL_PASSWORD_FILE": str(secret)})
    assert res.returncode == 2 and "tor_control_password" in res.stderr


class _Recorder(http.server.BaseHTTPRequestHandler):
    calls: list[dict] = []

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        type(self).calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path.startswith("/_security/_authenticate"):
            self.send_response(401)
            self.end_headers()
            return
        out = b'{"id":"i","name":"n","api_key":"k","encoded":"ZW5jb2RlZDprZXk="}' \
            if self.path.startswith("/_security/api_key") else b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _handle

    def log_message(self, *args) -> None:
        pass


def test_es_setup_sends_quoted_credentials_and_writes_private_key_files(tmp_path):
    _Recorder.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "elastic_password").write_text('el"as\\tic pw')
    (secrets / "kibana_system_password").write_text('kib"ana')
    script = ES_SETUP.read_text().replace("/run/secrets", str(secrets))
    try:
        res = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "ES_URL": f"http://127.0.0.1:{server.server_address[1]}",
                 "SETUP_DIR": str(tmp_path / "out"), "DARKWATCH_UID": str(os.getuid())},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert res.returncode == 0, res.stderr
    assert 'el"as' not in res.stdout + res.stderr
    calls = _Recorder.calls
    basic = {base64.b64decode(c["auth"].split()[1]).decode()
             for c in calls if (c["auth"] or "").startswith("Basic")}
    assert basic == {'elastic:el"as\\tic pw'}
    pw = next(c for c in calls if c["path"] == "/_security/user/kibana_system/_password")
    assert json.loads(pw["body"]) == {"password": 'kib"ana'}
    keys = [json.loads(c["body"]) for c in calls if c["path"] == "/_security/api_key"]
    assert [k["name"] for k in keys] == ["darkwatch-crawler", "darkwatch-kibana-import"]
    writer = keys[0]["role_descriptors"]["darkwatch_writer"]["indices"][0]
    assert writer["names"] == ["darkwatch-*"]
    for name in ("es_api_key", "kibana_api_key"):
        f = tmp_path / "out" / name
        assert f.read_text() == "ZW5jb2RlZDprZXk="
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
