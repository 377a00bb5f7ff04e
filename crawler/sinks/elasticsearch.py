"""The Elasticsearch sink: write-ahead spool, bulk with deterministic ids, triage by id.

Flow: ``write_posts``/``write_alerts`` turn records into bulk actions and append them to the
durable spool (fsync'd) before returning; once ``batch_size`` actions are waiting, or
``flush_interval`` passed, or on ``flush``/``close``, every sealed spool segment is sent in
order with ``helpers.streaming_bulk`` (``raise_on_error=False``: each failed item is
handled here). Per item:

- acknowledged -> done;
- transient (429 after the helper's own backoff retries, 5xx, 401/403, connection lost) ->
  stays in the spool, replayed on the next flush or run (or ``darkwatch spool replay``);
- permanent (mapping conflict, too large, bad value) -> logged at ERROR with index, id and
  reason, and kept in ``dead-letter.jsonl``: never silently dropped.

Sending happens on one background thread (segments strictly in order, one bulk stream at a
time): the caller (Scrapy's reactor thread) never waits on Elasticsearch except in ``flush``
and ``close``, and building the next batch overlaps with Elasticsearch indexing the last one.
Templates and the ILM policy are installed on the first send of each sink (idempotent).

Elasticsearch being down is a state, not an error per attempt: one WARNING line when it goes
down (documents kept in the spool), INFO lines for the retries, one line when it is back; the
tracebacks only at DEBUG (``-vv``). Triage status changes made while it is down are queued in
the spool too (``queue_status``) and applied in order by the same replay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.config.store import ElasticsearchConfig
from crawler.model import Alert, Post, utcnow_iso
from crawler.sinks import es_docs
from crawler.sinks.base import ALERT_STATUSES
from crawler.sinks.es_client import ElasticsearchError, describe, is_transient, make_client
from crawler.sinks.spool import Record, Spool, encode
from crawler.vocabulary import LEVELS

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 502, 503, 504)
# Spool op for a triage status change: applied by read-modify-write, not by bulk.
STATUS_OP = "darkwatch_status"
KEEP_STATUSES = (401, 403, 408, 429)  # plus >= 500: not the document's fault
MAX_CHUNK_BYTES = 10 * 1024 * 1024


@dataclass
class ReplayResult:
    sent: int = 0
    dead: int = 0
    kept: int = 0
    error: str | None = None
    dead_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.kept == 0 and self.error is None


def _status_of(item: dict[str, Any]) -> int | None:
    st = item.get("status")
    if st is None:
        return None
    try:
        return int(st)
    except (TypeError, ValueError):
        return None


def _reason_of(item: dict[str, Any]) -> str:
    err = item.get("error")
    if isinstance(err, dict):
        reason = f"{err.get('type')}: {err.get('reason')}"
        cause = err.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return reason[:1000]
    return str(err or item.get("exception") or "unknown error")[:1000]


class ElasticsearchSink:
    """Implements ``Sink`` and ``AlertIndex``; incidents go to ``<prefix>-incidents``."""

    is_state_store = False  # a separate copy: the crawl writes to it after the local store

    def __init__(self, es_cfg: ElasticsearchConfig, client: Any = None) -> None:
        self.cfg = es_cfg
        self.prefix = es_cfg.index_prefix
        self.spool = Spool(es_cfg.spool_dir)
        self._client = client
        self._lock = threading.Lock()  # guards the batching counters
        self._send_lock = threading.RLock()  # one sender at a time: segments go in order
        self._wake = threading.Event()
        self._sender: threading.Thread | None = None
        self._stopping = False
        self._setup_done = False
        self._waiting = 0
        self._last_send = time.monotonic()
        self._retry_after = 0.0
        self.last_error: str | None = None
        self.totals = ReplayResult()
        self.state = "unknown"  # up | down: what the operator was last told
        # False for CLI commands that word the outage themselves: state lines go to INFO.
        self.announce = True

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.cfg)
        return self._client

    # -- Sink -------------------------------------------------------------------------------
    def post_actions(self, posts: Sequence[Post]) -> list[dict[str, Any]]:
        return [{"_op_type": "index", "_index": es_docs.posts_index(self.prefix, p),
                 "_id": es_docs.post_doc_id(p), "_source": es_docs.post_to_doc(p)} for p in posts]

    def alert_actions(self, alerts: Sequence[Alert]) -> list[dict[str, Any]]:
        index = es_docs.alerts_index(self.prefix)
        return [es_docs.alert_update_action(index, a) for a in alerts]

    def write_posts(self, posts: Sequence[Post]) -> None:
        self._enqueue(self.post_actions(posts))

    def write_raw(self, posts: Sequence[Post]) -> None:
        """Unmasked copies of posts, to the restricted raw index; ignored unless ``store_raw``.

        The rules pipeline calls this with the posts *before* masking (same forum/post_id),
        then ``write_posts`` with the masked ones.
        """
        if not self.cfg.store_raw:
            return
        self._enqueue([{"_op_type": "index", "_index": es_docs.raw_index(self.prefix, p),
                        "_id": es_docs.post_doc_id(p), "_source": es_docs.raw_to_doc(p)}
                       for p in posts])

    def write_alerts(self, alerts: Sequence[Alert]) -> None:
        self._enqueue(self.alert_actions(alerts))

    def write_incident(self, incident: Any, related: Any = None, with_status: bool = False) -> None:
        """The incident's full current state, through the spool like posts and alerts.

        ``with_status``: the writer changed the status itself (a reopen, a CLI triage); the
        crawl's other updates never touch the status an analyst set in Kibana."""
        self._enqueue([es_docs.incident_update_action(es_docs.incidents_index(self.prefix),
                                                      incident, related, with_status)])

    def queue_incident(self, incident: Any, related: Any = None) -> None:
        """An analyst's change (CLI triage, merge) as a sealed spool segment of its own: safe
        beside a running crawl's sink, sent in order by the next replay or flush."""
        a = es_docs.incident_update_action(es_docs.incidents_index(self.prefix), incident,
                                           related, with_status=True)
        meta = {"_op_type": a["_op_type"], "_index": a["_index"], "_id": a["_id"]}
        self.spool.append_segment([encode(meta, {"doc": a["doc"], "upsert": a["upsert"]})])

    def incident_statuses(self) -> dict[str, dict[str, Any]]:
        """Id -> the triage fields of every incident in Elasticsearch (what Kibana shows)."""
        from elasticsearch import NotFoundError

        out: dict[str, dict[str, Any]] = {}
        after = None
        fields = [f"darkwatch.incident.{k}" for k in ("id", *es_docs.INCIDENT_TRIAGE_OWNED)]
        while True:
            body: dict[str, Any] = {"query": {"match_all": {}}, "size": 1000,
                                    "sort": [{"darkwatch.incident.id": "asc"}],
                                    "_source": fields}
            if after is not None:
                body["search_after"] = after
            try:
                resp = self.client.search(index=es_docs.incidents_index(self.prefix), **body)
            except NotFoundError:
                return out  # no incident indexed yet
            hits = resp["hits"]["hits"]
            for h in hits:
                inc = h["_source"].get("darkwatch", {}).get("incident", {})
                out[str(inc.get("id") or h["_id"])] = inc
            if len(hits) < body["size"]:
                return out
            after = hits[-1]["sort"]

    def flush(self) -> ReplayResult:
        """Send everything spooled now (waits for an in-flight background send first)."""
        with self._lock:
            self.spool.seal()
            self._waiting = 0
        return self.replay(force=True)

    def close(self, flush: bool = True) -> None:
        """Stop the sender, send what is spooled (unless ``flush`` is false), release all."""
        self._stopping = True
        self._wake.set()
        if self._sender is not None:
            self._sender.join(timeout=self.cfg.request_timeout * 4)
        try:
            res = self.flush() if flush else ReplayResult()
            if not res.ok:
                st = self.spool.status()
                logger.warning("Elasticsearch: %d document(s) spooled in %s (%s); they are sent on "
                               "the next run or by `darkwatch spool replay`",
                               st.pending, st.directory, res.error or "transient errors")
        finally:
            self.spool.close()
            if self._client is not None:
                self._client.close()
                self._client = None

    def pending(self) -> int:
        return self.spool.status().pending

    def queue_status(self, alert_id: str, status: str, note: str | None = None) -> None:
        """Queue a triage status change for Elasticsearch (it is down): a sealed spool segment of
        its own, so the next replay applies it after everything spooled before it."""
        if status not in ALERT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
        meta = {"_op_type": STATUS_OP, "_index": es_docs.alerts_index(self.prefix), "_id": alert_id}
        self.spool.append_segment([encode(meta, {"status": status, "note": note, "at": utcnow_iso()})])

    # -- internals -------------------------------------------------------------------------
    def _enqueue(self, actions: list[dict[str, Any]]) -> None:
        if not actions:
            return
        keep = []
        for a in actions:
            meta = {"_op_type": a["_op_type"], "_index": a["_index"], "_id": a["_id"]}
            body = a["_source"] if "_source" in a else {"doc": a["doc"], "upsert": a["upsert"]}
            rec = encode(meta, body)
            if len(rec.body) > self.cfg.max_doc_bytes:
                reason = (f"document too large ({len(rec.body)} bytes > max_doc_bytes "
                          f"{self.cfg.max_doc_bytes})")
                logger.error("Elasticsearch: %s/%s not indexed: %s; kept in %s", a["_index"],
                             a["_id"], reason, self.spool.dir / "dead-letter.jsonl")
                self.spool.dead_letter(rec, 413, reason)
                self.totals.dead += 1
                continue
            keep.append(rec)
        written = self.spool.append(keep)
        with self._lock:
            self._waiting += written
            due = (self._waiting >= self.cfg.batch_size
                   or time.monotonic() - self._last_send >= self.cfg.flush_interval)
            if due:
                self.spool.seal()
                self._waiting = 0
                self._last_send = time.monotonic()
        if due:
            self._kick()

    def _kick(self) -> None:
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(target=self._send_loop, name="darkwatch-es-sender",
                                            daemon=True)
            self._sender.start()
        self._wake.set()

    def _send_loop(self) -> None:
        """Background sender; a crash here loses nothing (the spool holds every document)."""
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.replay()
            except Exception:
                logger.exception("Elasticsearch sink: sending failed; documents stay in the spool %s",
                                 self.spool.dir)

    def setup(self) -> Any:
        from crawler.sinks.es_setup import install

        report = install(self.client, self.cfg)
        self._setup_done = True
        for line in report.installed:
            logger.info("Elasticsearch: installed %s", line)
        for note in report.notes:
            logger.warning("Elasticsearch: %s", note)
        return report

    def replay(self, force: bool = False) -> ReplayResult:
        """Send every sealed spool segment, oldest first; stop at the first that cannot finish."""
        res = ReplayResult()
        with self._send_lock:
            now = time.monotonic()
            if not force and now < self._retry_after:
                res.error = self.last_error
                res.kept = -1
                return res
            self._last_send = now
            segments = self.spool.sealed_segments()
            if not segments:
                return res  # nothing to send: no setup, no request (read-only CLIs close too)
            if self.state == "down":
                logger.info("Elasticsearch: retrying the spool %s", self.spool.dir)
            try:
                if not self._setup_done:
                    self.setup()
                for seg in segments:
                    actions = self.spool.read(seg)
                    remaining = self._send_segment(actions, res)
                    self.spool.rewrite(seg, remaining)
                    if remaining:
                        res.kept += len(remaining)
                        break
            except Exception as exc:
                res.error = describe(exc, self.cfg)
                logger.debug("Elasticsearch: %s", res.error, exc_info=exc)
                if not is_transient(exc) and not _is_auth(exc):
                    raise ElasticsearchError(res.error) from None
            if res.error or res.kept:
                self.last_error = res.error or f"{res.kept} document(s) refused for now (429/5xx)"
                self._retry_after = time.monotonic() + self.cfg.retry_interval
                self._went_down(self.last_error)
            else:
                self.last_error = None
                self._retry_after = 0.0
                self._came_up(res.sent)
            self.totals.sent += res.sent
            self.totals.dead += res.dead
        return res

    def _went_down(self, error: str) -> None:
        if self.state == "down":
            logger.debug("Elasticsearch still unavailable: %s", error)
            return
        self.state = "down"
        when = (f"retried every {self.cfg.retry_interval:g} s and on the next run"
                if self.cfg.retry_interval else "retried on the next write and run")
        logger.log(logging.WARNING if self.announce else logging.INFO,
                   "Elasticsearch down: %s; documents are kept in the spool %s and %s "
                   "(SQLite holds everything)", error, self.spool.dir, when)

    def _came_up(self, sent: int) -> None:
        if self.state == "down":
            logger.log(logging.WARNING if self.announce else logging.INFO,
                       "Elasticsearch reachable again: %d spooled document(s) sent", sent)
        self.state = "up"

    def _send_segment(self, records: list[Record], res: ReplayResult) -> list[Record]:
        """Send a segment's records in order: bulk runs, and status changes one by one between
        them; returns the records to keep (from the first that could not be sent on)."""
        run: list[Record] = []
        for i, rec in enumerate(records):
            if rec.meta.get("_op_type") != STATUS_OP:
                run.append(rec)
                continue
            if run:
                left = self._send(run, res)
                if left or res.error:
                    return left + records[i:]
                run = []
            if not self._apply_status(rec, res):
                return records[i:]
        return self._send(run, res) if run else []

    def _apply_status(self, rec: Record, res: ReplayResult) -> bool:
        """A queued triage change: True when applied or dead-lettered, False to keep it."""
        import json

        change = json.loads(rec.body)
        alert_id = str(rec.meta["_id"])
        try:
            found = self.set_alert_status(alert_id, change["status"], change.get("note"),
                                          at=change.get("at"))
        except Exception as exc:
            if not (is_transient(exc) or _is_auth(exc)):
                raise
            res.error = describe(exc, self.cfg)
            logger.debug("Elasticsearch: %s", res.error, exc_info=exc)
            return False
        if found:
            res.sent += 1
            logger.info("Elasticsearch: alert %s set to %s (queued while it was down)", alert_id,
                        change["status"])
            return True
        reason = "queued status change for an alert that is not in Elasticsearch"
        logger.error("Elasticsearch: alert %s: %s; kept in %s", alert_id, reason,
                     self.spool.dir / "dead-letter.jsonl")
        self.spool.dead_letter(rec, 404, reason)
        res.dead += 1
        res.dead_ids.append(alert_id)
        return True

    def _send(self, records: list[Record], res: ReplayResult) -> list[Record]:
        """Bulk ``records``; returns those to keep for later, in their original order."""
        from elasticsearch import helpers

        # One action per document: a later index wins; partial updates are folded into one, as
        # Elasticsearch would apply them in order (an incident's reopen, then a crawl update that
        # leaves the status out, must keep the reopen's status).
        latest: dict[tuple[str, str], Record] = {}
        for r in records:
            key = (r.meta["_index"], r.meta["_id"])
            prev = latest.pop(key, None)
            if prev is not None and r.meta["_op_type"] == prev.meta["_op_type"] == "update":
                r = _fold_updates(prev, r)
            latest[key] = r
        unacked = dict(latest)
        try:
            # Records are spooled lines that _expand turns into actions; the client's stubs only
            # know dict/str actions, hence the narrow ignore on this third-party call.
            for ok, item in helpers.streaming_bulk(
                self.client, latest.values(), expand_action_callback=_expand,  # type: ignore[arg-type]
                chunk_size=self.cfg.batch_size,
                max_chunk_bytes=MAX_CHUNK_BYTES, raise_on_error=False, raise_on_exception=False,
                max_retries=self.cfg.max_retries, initial_backoff=1, max_backoff=30,
                retry_on_status=RETRY_STATUSES,
            ):
                info = next(iter(item.values()))
                key = (info.get("_index"), info.get("_id"))
                action = unacked.get(key)
                if action is None:  # index named by alias/date math: find by id
                    key = next((k for k in unacked if k[1] == info.get("_id")), key)
                    action = unacked.get(key)
                if ok:
                    unacked.pop(key, None)
                    res.sent += 1
                    continue
                status = _status_of(info)
                if status is not None and (status in KEEP_STATUSES or status >= 500):
                    if status in (401, 403):
                        res.error = f"Elasticsearch refused the write ({status}): {_reason_of(info)}"
                    continue
                reason = _reason_of(info)
                logger.error("Elasticsearch rejected %s/%s (%s): %s; kept in %s", key[0], key[1],
                             status, reason, self.spool.dir / "dead-letter.jsonl")
                if action is not None:
                    self.spool.dead_letter(action, status, reason)
                unacked.pop(key, None)
                res.dead += 1
                res.dead_ids.append(str(key[1]))
        except Exception as exc:
            if not (is_transient(exc) or _is_auth(exc)):
                raise
            res.error = describe(exc, self.cfg)
            logger.debug("Elasticsearch: %s", res.error, exc_info=exc)
        # Every spooled action of a document not acknowledged stays (folded again next time).
        return [r for r in records if (r.meta["_index"], r.meta["_id"]) in unacked]

    # -- AlertIndex ------------------------------------------------------------------------
    def list_alerts(self, status: str | None = None, min_level: str | None = None,
                    since: str | None = None, limit: int = 100) -> list[Alert]:
        from elasticsearch import NotFoundError

        filters: list[dict[str, Any]] = [{"term": {"event.kind": "alert"}}]
        if status:
            filters.append({"term": {"darkwatch.alert.status": status}})
        if min_level:
            if min_level not in es_docs.SEVERITY:
                raise ValueError(f"unknown level {min_level!r}; one of {', '.join(LEVELS)}")
            filters.append({"range": {"event.severity": {"gte": es_docs.severity(min_level)}}})
        if since:
            filters.append({"range": {"event.created": {"gte": since}}})
        sort = [{"event.created": "desc"}, {"event.severity": "desc"}, {"darkwatch.alert.id": "asc"}]
        out: list[Alert] = []
        after = None
        while len(out) < limit:
            body: dict[str, Any] = {"query": {"bool": {"filter": filters}}, "sort": sort,
                                    "size": min(1000, limit - len(out))}
            if after is not None:
                body["search_after"] = after
            try:
                resp = self.client.search(index=es_docs.alerts_index(self.prefix), **body)
            except NotFoundError:
                return out  # no alert indexed yet
            hits = resp["hits"]["hits"]
            out.extend(es_docs.doc_to_alert(h["_source"]) for h in hits)
            if len(hits) < body["size"]:
                break
            after = hits[-1]["sort"]
        return out

    def set_alert_status(self, alert_id: str, status: str, note: str | None = None,
                         at: str | None = None) -> bool:
        """Read-modify-write with optimistic concurrency (no scripting needed on the cluster).

        ``at``: when the analyst made the change (a queued change keeps its time)."""
        from elasticsearch import ConflictError, NotFoundError

        if status not in ALERT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
        index = es_docs.alerts_index(self.prefix)
        for _ in range(5):
            try:
                cur = self.client.get(index=index, id=alert_id)
            except NotFoundError:
                return False
            alert = dict(cur["_source"].get("darkwatch", {}).get("alert", {}))
            notes = list(alert.get("notes") or [])
            if note:
                notes.append({"at": at or utcnow_iso(), "status": status, "note": note})
            try:
                self.client.update(index=index, id=alert_id, if_seq_no=cur["_seq_no"],
                                   if_primary_term=cur["_primary_term"], refresh="wait_for",
                                   doc={"darkwatch": {"alert": {"status": status, "notes": notes}}})
                return True
            except ConflictError:
                continue  # re-detected or edited meanwhile: read again
        raise ElasticsearchError(f"alert {alert_id}: too many concurrent updates, try again")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's partial-update merge: objects recursively, anything else replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _fold_updates(first: Record, then: Record) -> Record:
    """Two ``update`` + ``upsert`` actions on one document as one: docs merged in order, and
    upserts too (the document may not exist yet: the later state, with what only the earlier
    carried, such as an incident's ``related``)."""
    import json

    a, b = json.loads(first.body), json.loads(then.body)
    return encode(then.meta, {"doc": _merge(a.get("doc") or {}, b.get("doc") or {}),
                              "upsert": _merge(a.get("upsert") or {}, b.get("upsert") or {})})


def _expand(record: Record) -> tuple[dict[str, Any], bytes]:
    """Bulk header and the body exactly as spooled (serialised once, at write time)."""
    m = record.meta
    return {m["_op_type"]: {"_index": m["_index"], "_id": m["_id"]}}, record.body


def _is_auth(exc: BaseException) -> bool:
    from elasticsearch import AuthenticationException, AuthorizationException

    return isinstance(exc, AuthenticationException | AuthorizationException)
