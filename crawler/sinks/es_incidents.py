"""Incidents between the SQLite store (the record) and Elasticsearch (what Kibana shows).

Writes: after a post is stored, its incident's full current state goes to the sink (spooled,
keyed by the incident id: a re-crawl, a replay or a second worker overwrite one document and
counts never double). The crawl's updates leave the status fields alone unless the crawl
itself changed the status (a reopen), so an analyst's edit in Kibana is never overwritten.

Reads: analysts may set ``darkwatch.incident.status`` in Kibana. Once the spool holds nothing
for Elasticsearch (every change darkwatch made has landed), a status there that differs from
SQLite's can only come from Kibana: :func:`pull_statuses` adopts it into SQLite, with a history
event, before a crawl and before ``darkwatch incidents`` reads or triages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crawler.incidents.model import STATUSES
from crawler.incidents.sqlite import Change

if TYPE_CHECKING:
    from crawler.sinks.base import Sink

logger = logging.getLogger(__name__)

KIBANA = "kibana"  # who, in the history, when Kibana's edit names nobody newer
_STATUS_KINDS = frozenset({"reopened", "status"})
_RELATED_KINDS = frozenset({"linked", "evidence-updated", "merged"})
EAGER_RELATED = 5000  # distinct NIRs up to which ``related`` is recomputed on every new NIR (~7 ms)


def _needs_related(change: Change) -> bool:
    """Whether to recompute ``related`` (a join over the fingerprint sets: ~0.1 s for 100,000).

    On creation, a new link, an edit or a merge; when a linked incident gets new NIRs (the
    shared counts may have moved), every time up to ``EAGER_RELATED`` distinct NIRs, then each
    time its ``nir_distinct`` doubles, so a 10,000-post thread recomputes it a bounded number
    of times (the CLI's ``related`` is always computed live)."""
    if change.created or any(e.kind in _RELATED_KINDS for e in change.events):
        return True
    if not change.incident.linked:
        return False
    new = sum(int(e.data.get("new_nirs") or 0) for e in change.events if e.kind == "evidence")
    total = change.incident.nir_distinct
    return new > 0 and (total <= EAGER_RELATED or (total - new).bit_length() != total.bit_length())


def send_change(sink: Sink, store: Any, change: Change | None) -> int:
    """Write what a stored post did to its incident (and to incidents it is linked with);
    returns how many incident documents were queued."""
    if change is None or sink.is_state_store:  # store_post recorded it already
        return 0
    inc = change.incident
    incs = store.incidents
    if not _needs_related(change):
        sink.write_incident(inc, None, any(e.kind in _STATUS_KINDS for e in change.events))
        return 1
    related = incs.related(inc.id)
    sink.write_incident(inc, related, any(e.kind in _STATUS_KINDS for e in change.events))
    sent = 1
    for other_id in [r["id"] for r in related if r["shared_fingerprints"]]:
        other = incs.get(other_id)
        if other is not None:
            sink.write_incident(other, incs.related(other_id), False)
            sent += 1
    return sent


def send_incident(sink: Any, store: Any, inc_id: str, with_status: bool = True) -> None:
    """One incident as SQLite holds it now (a CLI triage or merge)."""
    inc = store.incidents.get(inc_id)
    if inc is not None:
        sink.write_incident(inc, store.incidents.related(inc_id), with_status)


def pull_statuses(sink: Any, store: Any, write_back: bool = True) -> list[str]:
    """Adopt statuses set in Kibana into SQLite; returns the ids changed.

    Call only when the spool is empty (else a change darkwatch queued would look like Kibana's).
    ``write_back``: also send who/when (and suppressed rules) back to the document. An unknown
    status value is logged and left alone."""
    remote = sink.incident_statuses()
    incs = store.incidents
    changed = []
    for inc_id, doc in remote.items():
        status = doc.get("status")
        local = incs.get(inc_id)
        if local is None or not status or status == local.status:
            continue
        if status not in STATUSES:
            logger.warning("incident %s: status %r set in Elasticsearch is not one of %s; ignored",
                           inc_id, status, ", ".join(STATUSES))
            continue
        newer = (doc.get("status_at") or "") > (local.status_at or "")
        by = str(doc.get("status_by") or KIBANA) if newer else KIBANA
        note = str(doc.get("status_note") or "") if newer else "status set in Kibana"
        inc = incs.set_status(inc_id, status, by, note)
        if write_back:
            sink.write_incident(inc, None, True)  # who/when and, for false-positive, suppressed rules
        changed.append(inc_id)
        logger.info("incident %s: status %s set in Kibana adopted", inc_id, status)
    return changed


def adopt_before_crawl(sink: Any, store: Any) -> None:
    """Before a crawl decides escalations and reopens: send the spool, then adopt statuses set
    in Kibana. Elasticsearch down is not an error here (the sink reports it as a state)."""
    if sink.is_state_store:  # the statuses are the store's own
        return
    try:
        res = sink.flush()
        if not res.ok or sink.pending():
            logger.info("incident statuses set in Kibana not read: the spool still holds documents")
            return
        changed = pull_statuses(sink, store)
    except Exception as exc:
        from crawler.sinks.es_client import describe, is_transient

        # Down is the sink's to report, once, as a state: here it is only a detail.
        logger.log(logging.INFO if is_transient(exc) else logging.WARNING,
                   "incident statuses set in Kibana not read (%s); the crawl uses the local "
                   "store's", describe(exc, sink.cfg))
        return
    if changed:
        logger.warning("%d incident status(es) set in Kibana adopted before the crawl", len(changed))
