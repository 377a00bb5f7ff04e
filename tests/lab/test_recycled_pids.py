"""Stale PIDs are never signalled: the lab's ``down`` and the dev Elasticsearch ``stop``.

Both once trusted a recorded PID. On this machine pid_max is 32768, so a number recorded
by one lab (or a killed Elasticsearch node's ``es.pid``) is soon handed to another process;
in full-suite runs freshly started tor nodes of another lab died from such a stray SIGTERM.
Each test plants a live stranger under a recorded PID and checks it survives, and that the
real owner is still found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from darkwatch_lab.tornet import LabState, NodeState, TorLab

REPO = Path(__file__).resolve().parents[2]


def _sleeper(cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(["sleep", "120"], cwd=cwd, start_new_session=True)


def _lab_with(tmp_path: Path, nodes: list[NodeState]) -> TorLab:
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    LabState(dir=str(lab_dir), onion="", socks="", control="", forum_port=0, forum_started=False,
             nodes=nodes).save(lab_dir / "lab.json")
    return TorLab(lab_dir)


def test_lab_down_spares_a_stranger_holding_a_recorded_pid(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    datadir = tmp_path / "lab-node"
    datadir.mkdir()
    stranger = _sleeper(elsewhere)
    try:
        lab = _lab_with(tmp_path, [NodeState("relay0", "relay", stranger.pid, str(datadir)),
                                   NodeState("?", "?", stranger.pid, "")])  # no data dir known
        assert lab.status()["nodes"] == {"relay0": False, "?": False}
        lab.down()
        assert stranger.poll() is None, "down() signalled a process that is not a lab node"
        assert not (tmp_path / "lab" / "lab.json").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_lab_down_still_stops_its_own_node(tmp_path):
    datadir = tmp_path / "lab-node"
    datadir.mkdir()
    node = _sleeper(datadir)  # a lab process runs in its data dir
    try:
        lab = _lab_with(tmp_path, [NodeState("relay0", "relay", node.pid, str(datadir))])
        assert lab.status()["nodes"] == {"relay0": True}
        lab.down()
        assert node.wait(timeout=10) is not None
    finally:
        if node.poll() is None:
            node.kill()


def test_es_stop_spares_a_stranger_behind_a_stale_pid_file(tmp_path):
    port = 9299
    env = {**os.environ, "DARKWATCH_ES_RUN": str(tmp_path / "es-run"),
           "DARKWATCH_CACHE": str(tmp_path / "cache")}
    base = tmp_path / "es-run" if os.geteuid() == 0 else tmp_path / "cache" / "es-run"
    home = base / "nodes" / str(port)
    home.mkdir(parents=True)
    stranger = _sleeper(tmp_path)
    try:
        (home / "es.pid").write_text(str(stranger.pid))
        r = subprocess.run([sys.executable, str(REPO / "deploy/dev/elasticsearch"), "stop",
                            "--port", str(port)], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "no node running" in r.stderr + r.stdout
        assert stranger.poll() is None, "stop signalled a process that is not the node"
        assert not (home / "es.pid").exists(), "the stale pid file stays behind"
    finally:
        stranger.kill()
        stranger.wait()
