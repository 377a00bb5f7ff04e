"""Kibana saved objects: valid import format, every referenced field mapped, and the import CLI.

Kibana itself is not available here (no Docker; not on Maven/PyPI/npm as a server): the import
is tested against a local HTTP receiver that checks the multipart request shape Kibana expects.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.cli import main as cli_main
from crawler.config.store import ElasticsearchConfig
from crawler.sinks.es_setup import Capabilities, index_template, mapped_fields

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "deploy" / "kibana" / "darkwatch.ndjson"
DATA_VIEWS = {"darkwatch-posts-dv": "posts", "darkwatch-alerts-dv": "alerts",
              "darkwatch-incidents-dv": "incidents"}


def load_objects() -> list[dict]:
    return [json.loads(line) for line in NDJSON.read_text("utf-8").splitlines()]


def test_ndjson_is_valid_import_format():
    lines = NDJSON.read_text("utf-8").splitlines()
    assert lines and all(line.strip() for line in lines)
    objs = [json.loads(line) for line in lines]
    ids = set()
    for o in objs:
        assert {"id", "type", "attributes", "references"} <= o.keys()
        assert o["id"].startswith("darkwatch-") and (o["type"], o["id"]) not in ids
        ids.add((o["type"], o["id"]))
        assert isinstance(o["attributes"], dict) and o["attributes"]["title"].startswith("darkwatch")
        for ref in o["references"]:
            assert {"name", "type", "id"} == ref.keys()
    for o in objs:  # every reference resolves inside the file
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, ref
        # JSON embedded in strings parses
        for key in ("visState", "panelsJSON", "optionsJSON", "uiStateJSON"):
            if key in o["attributes"]:
                json.loads(o["attributes"][key])
        meta = o["attributes"].get("kibanaSavedObjectMeta")
        if meta:
            json.loads(meta["searchSourceJSON"])
    dash = next(o for o in objs if o["type"] == "dashboard")
    panel_refs = {p["panelRefName"] for p in json.loads(dash["attributes"]["panelsJSON"])}
    assert panel_refs == {r["name"] for r in dash["references"]}
    assert {o["type"] for o in objs} == {"index-pattern", "search", "visualization", "dashboard"}


def test_ndjson_is_what_the_builder_generates():
    spec = importlib.util.spec_from_file_location("kbuild", ROOT / "deploy" / "kibana" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert NDJSON.read_text("utf-8") == mod.render(), "run: python deploy/kibana/build.py"


_KQL_FIELD = re.compile(r"([A-Za-z@][\w.@]*)\s*(?::|>=|<=|>|<)")


def referenced_fields(obj: dict) -> set[str]:
    a = obj["attributes"]
    out: set[str] = set()
    if obj["type"] == "index-pattern":
        out.add(a["timeFieldName"])
        out.update(json.loads(a.get("fieldFormatMap") or "{}"))
    out.update(a.get("columns", []))
    out.update(s[0] for s in a.get("sort", []))
    meta = a.get("kibanaSavedObjectMeta")
    if meta:
        src = json.loads(meta["searchSourceJSON"])
        out.update(_KQL_FIELD.findall(src.get("query", {}).get("query", "")))
        for f in src.get("filter", []):
            out.update(f.get("meta", {}).get("key", "") and [f["meta"]["key"]] or [])
    if "visState" in a:
        for agg in json.loads(a["visState"])["aggs"]:
            if "field" in agg.get("params", {}):
                out.add(agg["params"]["field"])
    return out


def data_view_of(obj: dict, by_id: dict) -> str:
    if obj["type"] == "index-pattern":
        return DATA_VIEWS[obj["id"]]
    ref = next(r for r in obj["references"] if r["type"] == "index-pattern")
    return DATA_VIEWS[ref["id"]]


def missing_fields(objs: list[dict]) -> list[str]:
    cfg = ElasticsearchConfig()
    # Only what every cluster gets: no ``.fr`` multi-fields (absent without analysis-common).
    caps = Capabilities(ilm=False, french=False)
    fields = {k: mapped_fields(index_template(k, cfg, caps)["template"]["mappings"])
              for k in ("posts", "alerts", "incidents")}
    by_id = {o["id"]: o for o in objs}
    problems = []
    for o in objs:
        if o["type"] == "dashboard":
            continue
        kind = data_view_of(o, by_id)
        for f in sorted(referenced_fields(o)):
            if f not in fields[kind]:
                problems.append(f"{o['id']}: field {f!r} is not mapped in the {kind} template")
    return problems


def test_every_referenced_field_exists_in_the_templates():
    objs = load_objects()
    assert missing_fields(objs) == []
    # The check itself can fail: a column on a field nobody maps is caught.
    broken = json.loads(json.dumps(objs))
    next(o for o in broken if o["type"] == "search")["attributes"]["columns"].append("darkwatch.nope")
    assert missing_fields(broken) == ["darkwatch-search-open-alerts: field 'darkwatch.nope' is not "
                                      "mapped in the alerts template"]
    # And KQL queries are checked too (NIR search names rule.name).
    nir = next(o for o in objs if o["id"] == "darkwatch-search-nir-alerts")
    assert "rule.name" in referenced_fields(nir)


def test_incident_objects_cover_the_analysts_questions():
    """Issue 11: an incidents dashboard (open by level, by lab, over time, biggest, related) and
    links from an incident to its alerts and posts, each to a saved search that exists."""
    objs = load_objects()
    by_id = {o["id"]: o for o in objs}
    dash = by_id["darkwatch-dashboard-incidents"]
    panels = [by_id[r["id"]] for r in dash["references"]]
    assert all(data_view_of(p, by_id) == "incidents" for p in panels)
    fields = set().union(*(referenced_fields(p) for p in panels))
    assert {"darkwatch.incident.level", "darkwatch.incident.labs", "@timestamp",
            "darkwatch.incident.nir_distinct", "darkwatch.incident.related_ids"} <= fields
    assert any(p["attributes"].get("sort", [[None]])[0][0] == "darkwatch.incident.nir_distinct"
               for p in panels)
    formats = json.loads(by_id["darkwatch-incidents-dv"]["attributes"]["fieldFormatMap"])
    targets = {}
    for field, fmt in formats.items():
        m = re.search(r"#/view/([\w-]+)\?.*query:'darkwatch\.thread\.url:\"\{\{value\}\}\"'",
                      fmt["params"]["urlTemplate"])
        assert m, fmt
        targets[field] = data_view_of(by_id[m.group(1)], by_id)
    assert targets == {"darkwatch.thread.url": "alerts", "url.full": "posts"}
    # The filtered field exists where the links land.
    for kind in ("alerts", "posts"):
        mapped = mapped_fields(index_template(kind, ElasticsearchConfig(), Capabilities(False, False))
                               ["template"]["mappings"])
        assert "darkwatch.thread.url" in mapped


class _Receiver(BaseHTTPRequestHandler):
    requests: list = []
    status = 200
    reply: dict = {}

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        type(self).requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        out = json.dumps(type(self).reply).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


@pytest.fixture
def kibana():
    _Receiver.requests = []
    _Receiver.status = 200
    _Receiver.reply = {"success": True, "successCount": len(load_objects())}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Receiver
    srv.shutdown()
    srv.server_close()


def _parse_multipart(headers: dict, body: bytes) -> dict:
    """Parse with the stdlib MIME parser: an independent check of our hand-built body."""
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body)
    assert msg.is_multipart() and not msg.defects
    return {part.get_param("name", header="content-disposition"): part for part in msg.iter_parts()}


def test_import_posts_multipart_with_xsrf_and_overwrite(kibana, capsys):
    url, rec = kibana
    rc = cli_main(["kibana", "import", "--url", url, "--api-key", "c2VjcmV0LWtleQ==", "--space", "soc"])
    assert rc == 0, capsys.readouterr().err
    assert len(rec.requests) == 1
    path, headers, body = rec.requests[0]
    assert path == "/s/soc/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"]
    assert headers["authorization"] == "ApiKey c2VjcmV0LWtleQ=="
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = _parse_multipart(headers, body)
    assert list(parts) == ["file"]
    assert parts["file"].get_filename() == "darkwatch.ndjson"
    assert parts["file"].get_payload(decode=True) == NDJSON.read_bytes()
    assert f"imported {len(load_objects())} object(s)" in capsys.readouterr().out


def test_import_reports_rejected_credentials_without_the_secret(kibana, capsys):
    url, rec = kibana
    rec.status = 401
    rec.reply = {"statusCode": 401, "error": "Unauthorized", "message": "bad key c2VjcmV0LWtleQ=="}
    rc = cli_main(["kibana", "import", "--url", url, "--api-key", "c2VjcmV0LWtleQ=="])
    err = capsys.readouterr().err
    assert rc == 4 and "credentials were rejected" in err and "c2VjcmV0LWtleQ==" not in err


def test_import_reports_object_errors(kibana, capsys):
    url, rec = kibana
    rec.reply = {"success": False, "successCount": 10, "errors": [
        {"id": "darkwatch-dashboard-overview", "type": "dashboard", "error": {"type": "conflict"}}]}
    assert cli_main(["kibana", "import", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "darkwatch-dashboard-overview" in err and "1 failed" in err


def test_import_kibana_unreachable(capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    rc = cli_main(["kibana", "import", "--url", f"http://127.0.0.1:{port}", "--timeout", "5"])
    assert rc == 4 and "unreachable" in capsys.readouterr().err
