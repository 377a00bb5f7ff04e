import os
import stat

from crawler.model import Alert, Post
from crawler.sinks.base import ThreadState
from crawler.sinks.sqlite import SqliteStore


def post(pid="1", text="hello", **kw):
    base = dict(forum="f", thread_url="http://127.0.0.1/t?t=1", thread_title="T", post_id=pid,
                author="a", published="2024-01-01T10:00:00Z", text=text, quoted_text="",
                url="http://127.0.0.1/t?t=1")
    base.update(kw)
    return Post(**base)


def alert(pid="1", level="high"):
    return Alert(rule={"id": "r1", "name": "fr-nir", "level": level}, forum="f",
                 thread_url="t", thread_title="T", post_id=pid, post_url="u", published=None,
                 counts={"nir": 2}, masked=["1 85 ** ..."], fingerprints=["ab"], snippet="s")


def test_store_file_is_private(tmp_path):
    path = tmp_path / "d.db"
    SqliteStore(str(path)).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_posts_are_stored_once_and_edits_update_in_place(tmp_path):
    s = SqliteStore(str(tmp_path / "d.db"))
    p = post()
    assert s.classify(p) == "new"
    s.write_posts([p])
    assert s.classify(post()) == "unchanged"
    edited = post(text="hello (edited)")
    assert s.classify(edited) == "edited"
    edited.edited = True
    s.write_posts([edited])
    rows = list(s.iter_posts())
    assert len(rows) == 1 and rows[0].text == "hello (edited)" and rows[0].edited is True


def test_export_filters(tmp_path):
    s = SqliteStore(str(tmp_path / "d.db"))
    s.write_posts([post("1", published="2024-01-01T00:00:00Z"),
                   post("2", published="2024-03-01T00:00:00Z"),
                   post("3", forum="g")])
    assert [p.post_id for p in s.iter_posts(since="2024-02-01T00:00:00Z", forum="f")] == ["2"]
    assert [p.forum for p in s.iter_posts(forum="g")] == ["g"]


def test_thread_state_roundtrip(tmp_path):
    s = SqliteStore(str(tmp_path / "d.db"))
    assert s.get_thread("f", "t") is None
    s.put_thread(ThreadState("f", "t", "m1", "t&start=10", "9", None))
    s.put_thread(ThreadState("f", "t", "m2", "t&start=20", "12", None))
    st = s.get_thread("f", "t")
    assert (st.marker, st.last_page_url, st.last_post_id) == ("m2", "t&start=20", "12")


def test_alert_triage_survives_redetection(tmp_path):
    s = SqliteStore(str(tmp_path / "d.db"))
    a = alert()
    s.write_alerts([a, alert("2", level="low")])
    assert s.set_alert_status(a.id, "ack", note="looking")
    s.write_alerts([alert()])  # same rule, same post: same id
    got = s.list_alerts(min_level="medium")
    assert [x.id for x in got] == [a.id] and got[0].status == "ack"
    assert s.list_alerts(status="open")[0].post_id == "2"
    assert not s.set_alert_status("nope", "closed")
