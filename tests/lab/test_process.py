"""The fixture forum as a separate process, driven through its loopback admin JSON API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.support.forum_client import Client

pytestmark = pytest.mark.integration

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(base: str, name: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(f"{base}/__admin/{name}", data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture
def proc_forum():
    p = subprocess.Popen([sys.executable, "-m", "darkwatch_lab.forum", "--port", "0", "--seed", "2",
                          "--skins", "phpbb,mybb"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = p.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), p.stderr.read()
        yield base
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_admin_api_drives_the_running_forum(proc_forum):
    base = proc_forum
    truth = call(base, "truth")
    assert truth and {t["engine"] for t in truth} == {"phpbb", "mybb"}
    assert all(t["thread_url"].startswith(base) for t in truth)
    public = call(base, "truth?private=0&engine=mybb")
    assert 0 < len(public) < len(truth) / 2
    call(base, "reset-requests", {})
    assert Client().get(f"{base}/phpbb/index.php")[0] == 200
    assert call(base, "requests") == [["GET", "/phpbb/index.php"]]
    tid = public[0]["thread_id"]
    payload = {"thread_id": tid, "author": "tester", "text": "nouveau post Synlab"}
    pid = call(base, "posts", payload)["post_id"]
    status, _, body = Client().get(f"{base}/phpbb/viewtopic.php?p={pid}")
    assert status == 200 and f'id="p{pid}"'.encode() in body and b"nouveau post Synlab" in body
    new_tid = call(base, "threads", {"board_id": 3, "title": "T", "author": "a", "text": "b"})["thread_id"]
    assert any(t["thread_id"] == new_tid for t in call(base, "truth"))
    assert call(base, "expire-sessions", {}) == {"expired": 0}
    assert call(base, "stats")["connections"] >= 1
    assert len(call(base, "valid-nirs")) > 5
    with pytest.raises(urllib.error.HTTPError) as err:
        call(base, "posts", {"thread_id": 999999, "author": "x", "text": "y"})
    assert err.value.code == 400


def test_cli_refuses_non_loopback_host():
    res = subprocess.run([sys.executable, "-m", "darkwatch_lab.forum", "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "non-loopback" in res.stderr
