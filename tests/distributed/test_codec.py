"""The shared queue's request codec: JSON round trip, and nothing executable from Redis."""

from __future__ import annotations

import json

import pytest
from scrapy.http import FormRequest, Request

from crawler.distributed import codec


def test_round_trip_keeps_bytes_headers_and_meta():
    req = FormRequest("http://127.0.0.1/login", formdata={"u": "a"}, meta={"thread_url": "x", "n": 3},
                      headers={"X-A": "b"})
    d = req.to_dict()
    d["meta"]["download_latency"] = 0.2  # transient: dropped
    back = codec.loads(codec.dumps(d))
    assert back["body"] == req.body and back["headers"][b"X-A"] == [b"b"]
    assert back["meta"] == {"thread_url": "x", "n": 3}
    assert back["_class"] == "scrapy.http.request.form.FormRequest"
    assert json.loads(codec.dumps(d))  # plain JSON on the wire, no pickle


@pytest.mark.parametrize("cls", ["os.system", "subprocess.Popen", "builtins.eval"])
def test_request_classes_outside_the_allow_list_are_refused(cls):
    d = Request("http://127.0.0.1/").to_dict()
    d["_class"] = cls
    with pytest.raises(ValueError, match="not allowed"):
        codec.loads(codec.dumps(d))


def test_garbage_is_refused():
    for raw in (b"[]", b'{"no": "url"}', b"\x80\x04pickle"):
        with pytest.raises(ValueError):
            codec.loads(raw)


def test_the_shared_queue_refuses_a_spider_without_its_contract():
    """ready/cookies/on_dropped are declared (QueueSpider), not probed with getattr."""
    from scrapy import Spider

    from crawler.distributed.scheduler import DistributedScheduler

    sched = DistributedScheduler(server=None, persist=True, flush_on_start=False,
                                 queue_key="%(spider)s:q", queue_cls="scrapy_redis.queue.FifoQueue",
                                 dupefilter=None, dupefilter_key="%(spider)s:df",
                                 idle_before_close=0)
    with pytest.raises(TypeError, match="DistributedForumSpider"):
        sched.open(Spider(name="plain"))
