"""Nothing that leaves the machine carries a clear NIR, whatever field it hides in."""

from __future__ import annotations

import json

from crawler.config.rules import RulesConfig
from crawler.model import Post
from crawler.rules.post import PostRules
from crawler.sinks.es_docs import alert_to_doc, post_to_doc
from tests.support.cli import REPO

NIR = "185057800608491"  # valid key


def hostile_post() -> Post:
    return Post(
        forum="f", thread_url=f"http://x.onion/t/fichier-{NIR}.123", post_id="7",
        thread_title=f"Vente base Cerballiance {NIR}", author=f"user{NIR}",
        published="2024-01-01T00:00:00Z",
        text=f"Cerballiance patients: 1 85 05 78 006 084 91 ; groupe sanguin, mutuelle; {NIR}",
        quoted_text=f"cité: {NIR}", url=f"http://x.onion/t/fichier-{NIR}.123?page=2",
    )


def flat(obj) -> str:
    return json.dumps(obj, ensure_ascii=False).replace(" ", "").replace(".", "").replace("-", "")


def test_alerts_and_remote_post_documents_never_carry_a_clear_nir():
    rules = PostRules.from_config(RulesConfig(paths=[str(REPO / "rules")],
                                              fingerprint_key="k" * 32))
    post = hostile_post()
    alerts = rules.apply(post)
    # fr-health-leak outranks fr-nir here and names it as related.
    assert [a.rule["name"] for a in alerts] == ["fr-health-leak"]
    assert "fr-nir" in alerts[0].related_rules
    docs = [alert_to_doc(a) for a in alerts] + [a.to_dict() for a in alerts]
    docs.append(post_to_doc(post.masked_copy()))
    assert NIR not in flat(docs)
    # The local copy keeps the evidence; only what leaves is masked.
    assert NIR in post.text and NIR not in repr(post)
