"""Alert builders for the notification tests."""

from __future__ import annotations

from crawler.model import Alert

NIR = "185057800608491"  # a valid NIR (key 91 checks out) that must never reach a channel


def make_alert(post_id: str = "p1", thread: str = "t1", level: str = "high", rule_id: str = "nir-leak",
               forum: str = "bf-fr", created: str | None = None) -> Alert:
    kw = {"created": created} if created else {}
    return Alert(
        rule={"id": rule_id, "name": rule_id.replace("-", "_"), "title": f"Rule {rule_id}", "level": level},
        forum=forum,
        thread_url=f"http://forumxyz.onion/viewtopic.php?t={thread}",
        thread_title=f"Dump patients {thread} (NIR inside)",
        post_id=post_id,
        post_url=f"http://forumxyz.onion/viewtopic.php?p={post_id}",
        published="2026-11-28T10:00:00Z",
        counts={"nir": 3},
        masked=["1 85 05 ** *** *** 36", "2 90 ** ** *** *** **"],
        fingerprints=["hmac:abcd"],
        snippet="patient NIR 1 85 05 ** *** *** 36",
        **kw,
    )
