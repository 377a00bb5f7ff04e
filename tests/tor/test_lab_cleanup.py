"""The lab never leaves tor processes behind: Ctrl-C during `lab up`, and `lab down` from elsewhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.netpolicy import free_ports
from darkwatch_lab.tornet import _alive
from tests.support.cli import REPO, darkwatch
from tests.support.figures import figure

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start_up(lab_dir: Path, port: int) -> tuple[subprocess.Popen, list[dict]]:
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "lab", "up", "--dir", str(lab_dir),
                             "--forum-port", str(port), "--timeout", "600"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    state = lab_dir / "lab.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists():
            nodes = json.loads(state.read_text())["nodes"]
            if nodes and all(n["pid"] > 0 for n in nodes):
                return proc, nodes
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("lab up never recorded its processes: " + proc.stderr.read())


@pytest.fixture
def target_port() -> int:
    """A loopback port nothing listens on: the onion never answers, so `lab up` stays in its
    start-up phase until the test acts (a served port let a fast machine finish start-up before
    the signal was sent, and the test then saw a clean exit 0)."""
    return free_ports(1)[0]


def start_up_alive(request, lab_dir: Path, port: int) -> tuple[subprocess.Popen, list[dict]]:
    """``start_up`` whose nodes are all alive when the test acts.

    In two full-suite runs (and once in 17 runs alone), 7 of the 8 tor nodes died within 25 ms
    of their start (a relay logged "Catching signal TERM"): recycled PIDs signalled by another
    lab's down() or by the dev Elasticsearch stop, both fixed (tests/lab/test_recycled_pids.py).
    Should it happen again, the first attempt's evidence (which nodes, `lab up`'s own report
    with their last log lines) is printed in the run's output, and the test goes on with a
    fresh lab once."""
    for attempt in (1, 2):
        proc, nodes = start_up(lab_dir, port)
        dead = [n["name"] for n in nodes if not _alive(n["pid"], n["datadir"])]
        if not dead:
            return proc, nodes
        try:  # `lab up` notices within 0.2 s and says which node exited, with its log lines
            err = proc.communicate(timeout=15)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate(timeout=15)[1]
        figure(request, f"[lab cleanup] attempt {attempt}: nodes {dead} were dead before any "
                        f"signal; lab up said: {err[-1500:]}")
        lab_dir = lab_dir.with_name(lab_dir.name + "-again")
        port = free_ports(1)[0]
    raise AssertionError(f"lab nodes {dead} died during start-up twice: {err[-2000:]}")


def test_ctrl_c_during_lab_up_kills_every_process(request, tmp_path, target_port):
    proc, nodes = start_up_alive(request, tmp_path / "lab", target_port)
    assert len(nodes) == 8
    lab_dir = Path(nodes[0]["datadir"]).parents[1]
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert [n["name"] for n in nodes if _alive(n["pid"], n["datadir"])] == []
    assert not (lab_dir / "lab.json").exists()


def test_lab_down_from_another_process(tmp_path, target_port):
    proc, nodes = start_up(tmp_path / "lab", target_port)
    res = darkwatch("lab", "down", "--dir", str(tmp_path / "lab"), timeout=60)
    assert res.returncode == 0, res.stderr
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "exited during start-up" in err, err
    assert [n["name"] for n in nodes if _alive(n["pid"], n["datadir"])] == []
    st = darkwatch("lab", "status", "--dir", str(tmp_path / "lab"))
    assert st.returncode == 1 and "no lab" in st.stdout
