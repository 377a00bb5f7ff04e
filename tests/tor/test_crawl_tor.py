"""The crawl through Tor, end to end: the fixture forum as an onion service in the lab.

Runs the real CLI (`darkwatch crawl --config lab.yml`, then `darkwatch posts export`),
compares with the fixture's ground truth, per skin.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

from tests.support.cli import REPO, darkwatch, export
from tests.support.tor_crawl import check_against_truth, lab_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_crawl_through_tor_stores_every_post(tor_lab, tmp_path):
    path, cfg = lab_config(tor_lab, tmp_path)
    res = darkwatch("crawl", "--config", str(path), "-q", "--report", str(tmp_path / "r.json"),
                    timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    stored = export(path)
    check_against_truth(tor_lab, cfg, stored)
    report = json.loads((tmp_path / "r.json").read_text())
    assert all(f["status"] == "ok" for f in report["forums"]), report


def test_killing_the_client_tor_mid_crawl_loses_no_post(tor_lab, tmp_path):
    """Tor dies under a running crawl and comes back: retries finish the job, no post lost."""
    path, cfg = lab_config(tor_lab, tmp_path, delay=0.3, concurrency=1)
    served = len(tor_lab.forum.requests)
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--config", str(path), "-q"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Kill tor once the crawl is fetching (not on a clock: a busy machine starts it late).
        deadline = time.monotonic() + 120
        while len(tor_lab.forum.requests) < served + 5 and proc.poll() is None:
            assert time.monotonic() < deadline, "the crawl never started fetching"
            time.sleep(0.05)
        assert proc.poll() is None, "crawl finished before tor could be killed: slow it down"
        tor_lab.lab.kill_node("client")
        time.sleep(4)  # the outage itself: the crawl meets a dead SOCKS port for a while
        tor_lab.lab.start_node("client")
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        tor_lab.lab.start_node("client")  # leave the lab whole for other tests
    assert proc.returncode == 0, out + err
    check_against_truth(tor_lab, cfg, export(path))


def test_crawl_in_launch_mode_through_the_lab(tor_lab, tmp_path):
    """tor: {mode: launch}: darkwatch starts its own tor (joined to the lab), crawls, stops it."""
    path, cfg = lab_config(tor_lab, tmp_path)
    cfg["tor"] = {"mode": "launch", "torrc": tor_lab.lab.client_torrc_options(),
                  "bootstrap_timeout": 120}
    cfg["forums"] = [f for f in cfg["forums"] if f["engine"] == "phpbb"]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = darkwatch("crawl", "--config", str(path), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "tor: launched" in res.stderr
    check_against_truth(tor_lab, cfg, export(path))
    # the launched tor is gone with the crawl
    assert "darkwatch-tor-" not in subprocess.run(["pgrep", "-af", "darkwatch-tor-"],
                                                  capture_output=True, text=True).stdout


def test_unreachable_onion_forum_is_reported_readably(tor_lab, tmp_path):
    """A forum whose onion service is gone: the crawl says so in Tor's words, exit 1 (partial)."""
    path, cfg = lab_config(tor_lab, tmp_path)
    gone = dict(cfg["forums"][0], name="gone",
                start_urls=[f"http://{tor_lab.onion}:81/phpbb/viewforum.php?f=2"])
    cfg["forums"] = [cfg["forums"][0], gone]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = darkwatch("crawl", "--config", str(path), "-q", "--report", str(tmp_path / "r.json"),
                    timeout=600)
    assert res.returncode == 1, res.stdout + res.stderr
    report = {f["forum"]: f for f in json.loads((tmp_path / "r.json").read_text())["forums"]}
    assert report[cfg["forums"][0]["name"]]["status"] == "ok"
    assert report["gone"]["status"] == "failed"
    kinds = set(report["gone"]["errors"])
    assert kinds and all(k.startswith("tor-") for k in kinds), report["gone"]
    assert "SOCKS reply 0x" in res.stdout, res.stdout
