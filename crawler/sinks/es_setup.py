"""Install the ILM policy and composable index templates, idempotently.

Each installed object carries ``_meta.darkwatch_hash`` (hash of what we would install): when
the cluster already holds the same hash, nothing is written, so ``darkwatch es setup`` twice
is a no-op the second time. The cluster's capabilities are probed, not assumed: the minimal
distribution used in tests has no ILM and no ``analysis-common`` (no ``french`` analyzer);
setup then installs templates without them and says so.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from crawler.config.store import ElasticsearchConfig

TEMPLATE_PRIORITY = 200
KINDS = ("posts", "alerts", "incidents", "raw")


def load_json(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        resources.files("crawler.sinks").joinpath("templates", name).read_text("utf-8"))
    return doc


@dataclass
class Capabilities:
    ilm: bool = True
    french: bool = True


@dataclass
class SetupReport:
    installed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.installed)


def policy_name(prefix: str) -> str:
    return f"{prefix}-posts"


def ilm_policy(cfg: ElasticsearchConfig) -> dict[str, Any]:
    body = load_json("ilm-posts.json")
    phases = body["policy"]["phases"]
    if cfg.retention_days is None:
        phases.pop("delete", None)
    else:
        phases["delete"]["min_age"] = f"{cfg.retention_days}d"
    return body


_FRENCH_FIELDS = {
    "posts": ("message", "darkwatch.post.quoted_text", "darkwatch.thread.title"),
    "alerts": ("message", "darkwatch.thread.title"),
    "incidents": ("message", "darkwatch.thread.title"),
    "raw": ("message",),
}


def _prop(mappings: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = mappings
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def index_template(kind: str, cfg: ElasticsearchConfig, caps: Capabilities) -> dict[str, Any]:
    """The composable template body for ``kind`` (posts, alerts, incidents, raw)."""
    mappings = copy.deepcopy(load_json(f"{kind}.json")["mappings"])
    if caps.french:
        # Analysts search French forums: stems and elisions ("l'hôpital"), alongside the
        # standard analyzer which keeps exact tokens (lab and vendor names).
        for dotted in _FRENCH_FIELDS[kind]:
            _prop(mappings, dotted).setdefault("fields", {})["fr"] = {"type": "text", "analyzer": "french"}
    settings: dict[str, Any] = {"number_of_shards": cfg.shards, "number_of_replicas": cfg.replicas}
    if kind == "raw":
        settings["hidden"] = True  # not matched by `*` patterns; grant access by role explicitly
    if caps.ilm and kind in ("posts", "raw"):
        settings["lifecycle"] = {"name": policy_name(cfg.index_prefix)}
    pattern = {"posts": "posts-*", "alerts": "alerts*", "incidents": "incidents", "raw": "raw-*"}[kind]
    return {
        "index_patterns": [f"{cfg.index_prefix}-{pattern}"],
        "priority": TEMPLATE_PRIORITY,
        "template": {"settings": {"index": settings}, "mappings": mappings},
        "_meta": {"managed_by": "darkwatch", "description": mappings.get("_meta", {}).get("description")},
    }


def with_hash(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    out = copy.deepcopy(body)
    out.setdefault("_meta", {})["darkwatch_hash"] = digest
    return out, digest


def probe(client: Any) -> Capabilities:
    from elasticsearch import ApiError, NotFoundError

    caps = Capabilities()
    try:
        client.ilm.get_lifecycle(name="darkwatch-probe-nonexistent")
    except NotFoundError:
        pass  # ILM answers: it just has no such policy
    except ApiError as exc:
        if exc.meta.status in (400, 405, 410):
            caps.ilm = False
        else:
            raise
    try:
        client.indices.analyze(analyzer="french", text="l'hôpital")
    except ApiError as exc:
        if exc.meta.status == 400:
            caps.french = False
        else:
            raise
    return caps


def _current_hash(getter: Any, key: str, name: str) -> str | None:
    from elasticsearch import NotFoundError

    try:
        resp = getter(name=name)
    except NotFoundError:
        return None
    body = dict(resp)
    if key == "policy":
        meta = body.get(name, {}).get("policy", {}).get("_meta", {})
    else:
        items = body.get("index_templates", [])
        meta = items[0]["index_template"].get("_meta", {}) if items else {}
    return (meta or {}).get("darkwatch_hash")


def install(client: Any, cfg: ElasticsearchConfig) -> SetupReport:
    """Install what is missing or different; leave equal objects untouched."""
    report = SetupReport()
    caps = probe(client)
    prefix = cfg.index_prefix
    if caps.ilm:
        name = policy_name(prefix)
        body, digest = with_hash(ilm_policy(cfg)["policy"])
        if _current_hash(client.ilm.get_lifecycle, "policy", name) == digest:
            report.unchanged.append(f"ilm policy {name}")
        else:
            client.ilm.put_lifecycle(name=name, policy=body)
            report.installed.append(f"ilm policy {name}")
    else:
        report.notes.append("ILM is not available on this cluster (minimal distribution?): "
                            "templates installed without a lifecycle; retention is not enforced")
    if not caps.french:
        report.notes.append("the 'french' analyzer is not available (no analysis-common module): "
                            "text fields use the standard analyzer only")
    for kind in KINDS:
        if kind == "raw" and not cfg.store_raw:
            continue
        name = f"{prefix}-{kind}"
        body, digest = with_hash(index_template(kind, cfg, caps))
        if _current_hash(client.indices.get_index_template, "template", name) == digest:
            report.unchanged.append(f"index template {name}")
            continue
        meta = body.pop("_meta")
        client.indices.put_index_template(name=name, meta=meta, **body)
        report.installed.append(f"index template {name}")
    return report


def mapped_fields(mappings: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted field name -> type, multi-fields included (``message.fr``)."""
    out: dict[str, str] = {}
    for name, spec in mappings.get("properties", {}).items():
        full = f"{prefix}{name}"
        if "properties" in spec:
            out[full] = spec.get("type", "object")
            out.update(mapped_fields(spec, full + "."))
        else:
            out[full] = spec.get("type", "object")
        for sub, sspec in spec.get("fields", {}).items():
            out[f"{full}.{sub}"] = sspec.get("type", "keyword")
    return out
