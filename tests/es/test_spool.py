"""The spool on its own (no Elasticsearch): durability format, torn lines, ordered rewrites."""

from __future__ import annotations

import os
import stat

from crawler.sinks.spool import Spool, encode


def rec(i: int, index: str = "dw-posts-2026.11"):
    return encode({"_op_type": "index", "_index": index, "_id": f"f:{i}"}, {"message": f"tab\there {i}"})


def test_append_seal_read_in_order(tmp_path):
    sp = Spool(tmp_path / "s")
    sp.append([rec(1), rec(2)])
    assert sp.sealed_segments() == []  # the open segment is not replayed under its writer
    sp.seal()
    sp.append([rec(3)])
    sp.seal()
    segs = sp.sealed_segments()
    assert [p.name for p in segs] == ["seg-000000000001.jsonl", "seg-000000000002.jsonl"]
    # A fresh process (no in-memory copy) reads the same records back from disk.
    sp2 = Spool(tmp_path / "s")
    got = [r.meta["_id"] for p in sp2.sealed_segments() for r in sp2.read(p)]
    assert got == ["f:1", "f:2", "f:3"]
    assert sp2.read(segs[0])[0].decoded()["body"]["message"] == "tab\there 1"
    assert stat.S_IMODE(os.stat(segs[0]).st_mode) == 0o600
    assert sp2.status().pending == 3 and sp2.status().segments == 2


def test_torn_last_line_is_ignored_and_reported(tmp_path, caplog):
    sp = Spool(tmp_path / "s")
    sp.append([rec(1)])
    sp.seal()
    seg = sp.sealed_segments()[0]
    with open(seg, "ab") as fh:
        fh.write(rec(2).line()[:-10])  # crash in the middle of an append
    assert [r.meta["_id"] for r in Spool(tmp_path / "s").read(seg)] == ["f:1"]
    assert "incomplete last line" in caplog.text


def test_rewrite_keeps_only_what_is_left_and_done_deletes(tmp_path):
    sp = Spool(tmp_path / "s")
    sp.append([rec(i) for i in range(5)])
    sp.seal()
    seg = sp.sealed_segments()[0]
    recs = sp.read(seg)
    sp.rewrite(seg, [recs[1], recs[3]])
    assert [r.meta["_id"] for r in Spool(tmp_path / "s").read(seg)] == ["f:1", "f:3"]
    sp.rewrite(seg, [])
    assert not seg.exists() and sp.status().pending == 0


def test_dead_letters_keep_the_whole_document(tmp_path):
    sp = Spool(tmp_path / "s")
    sp.dead_letter(rec(7), 400, "mapper_parsing_exception: nope")
    (d,) = list(sp.iter_dead_letters())
    assert d["id"] == "f:7" and d["status"] == 400 and d["action"]["body"]["message"] == "tab\there 7"
    assert sp.status().dead_letters == 1
