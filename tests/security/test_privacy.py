"""crawler.privacy: one definition of an identifier for alerts, logs, exports and rule masking.

Before it, alerts and logs masked digit runs of 11+ and rule snippets 9+: a 10-digit phone
number was hidden in a snippet but shown in the alert title, the JSON log and the copy of the
post sent to Elasticsearch. Each path here is the real one a value takes out of the machine.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from crawler import privacy
from crawler.alerts.message import format_alert
from crawler.incidents.model import Incident
from crawler.incidents.notice import format_incident
from crawler.logjson import JsonFormatter
from crawler.model import Alert, Post
from crawler.rules import mask as rules_mask

PHONE = "06 12 34 56 78"  # 10 digits: shown by alerts and logs when they masked 11+ only
CORSICAN_NIR = "2 85 05 2A 006 084 91"  # letters split it into runs of 6 and 8 digits
SHORT = "12345678"  # one digit short of the threshold: an ordinary number, kept


def _alert(title: str) -> Alert:
    return Alert(rule={"id": "r", "name": "r", "title": "R", "level": "high"}, forum="f",
                 thread_url="http://x.onion/t?id=1", thread_title=title, post_id="p1",
                 post_url="http://x.onion/p?id=1", published=None, counts={"nir": 1},
                 masked=[], fingerprints=[], snippet="")


def _json_log(message: str) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("darkwatch.test.privacy")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("%s", message)
    finally:
        logger.removeHandler(handler)
    return str(json.loads(stream.getvalue())["message"])


def _snippet(text: str) -> str:
    return rules_mask.snippet(text, 0, len(text), [])


def _masked_copy(text: str) -> str:
    post = Post(forum="f", thread_url="http://x.onion/t", thread_title="t", post_id="1", author="a",
                published=None, text=text, quoted_text="", url="http://x.onion/p")
    return post.masked_copy().text


# Every way text leaves: alert notice, JSON log line, rule snippet, remote-sink copy, CLI line.
OUTPUTS = {
    "alert": lambda s: "\n".join(format_alert(_alert(s))),
    "log": _json_log,
    "snippet": _snippet,
    "remote copy": _masked_copy,
    "clean": privacy.clean,
}


@pytest.mark.parametrize("leak", [PHONE, "061234567", "+33 6 12 34 56 78", CORSICAN_NIR])
@pytest.mark.parametrize("out", OUTPUTS)
def test_every_output_hides_the_same_identifiers(out, leak):
    shown = OUTPUTS[out](f"call {leak} now")
    digits = "".join(c for c in leak if c.isdigit())
    assert digits[-6:] not in "".join(c for c in shown if c.isdigit()), shown
    assert "call " in shown and " now" in shown  # only the identifier went


@pytest.mark.parametrize("out", OUTPUTS)
def test_every_output_keeps_numbers_below_the_threshold(out):
    assert len(SHORT) == privacy.MIN_DIGIT_RUN - 1
    assert f"post {SHORT} on 2026-11-28T23:13Z" in OUTPUTS[out](f"post {SHORT} on 2026-11-28T23:13Z")


def test_the_old_module_paths_are_the_privacy_functions():
    """``crawler.rules.mask`` stays only as a re-export for the rule engine: no second copy."""
    assert rules_mask.mask_generic is privacy.mask_generic
    assert rules_mask.mask_spans is privacy.mask_spans
    assert rules_mask.snippet is privacy.snippet


def test_a_notice_keeps_the_ids_of_related_incidents():
    """Related incident ids are ours too: masked, the analyst could not open them."""
    inc = Incident(id="aa0479914759bbcc", forum="f", thread_url="http://x.onion/t", level="high",
                   title="dump")
    related = [{"id": "123456789012abcd", "forum": "g", "shared_fingerprints": 2}]
    _, body = format_incident(inc, "created", related=related)
    assert "123456789012abcd on g (2 shared)" in body


def test_scrub_keeping_keeps_own_ids_but_not_a_number_inside_them():
    body = privacy.scrub_keeping(f"id 0479914759244364 phone {PHONE}", ["0479914759244364"])
    assert body == "id 0479914759244364 phone ** ** ** ** **"


@pytest.mark.parametrize("out", ["log", "clean", "remote copy"])
def test_a_hex_digest_with_a_long_digit_run_survives_every_output(out):
    """Alert ids are 32 hex characters: about one in eight has 9+ digits in a row. They name the
    alert in logs and listings; a number someone typed next to one is still masked."""
    alert_id = "3f1234567890ab4c5d6e7f8091a2b3c4"
    shown = OUTPUTS[out](f"alert {alert_id} from {PHONE}")
    assert alert_id in shown and "12 34 56" not in shown
