"""Requests as JSON for the shared queue.

scrapy-redis pickles requests by default; unpickling what another machine wrote to Redis is
code execution for whoever can write to Redis. JSON plus an allow-list of request classes
keeps a compromised queue to "bad URLs", which the scope middlewares already refuse.
"""

from __future__ import annotations

import base64
import json
from typing import Any

ALLOWED_CLASSES = {"scrapy.http.request.form.FormRequest"}
# Transient meta that must not travel with a request to another worker.
DROP_META = ("download_latency", "download_slot", "darkwatch_token", "_dw_local", "_dw_df")


def _enc(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return {"__b": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _enc(v) for k, v in obj.items()}
        return {"__d": [[_enc(k), _enc(v)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_enc(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot send {type(obj).__name__} through the shared queue")


def _dec(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__b" in obj and len(obj) == 1:
            return base64.b64decode(obj["__b"])
        if "__d" in obj and len(obj) == 1:
            return {_dec(k): _dec(v) for k, v in obj["__d"]}
        return {k: _dec(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_dec(v) for v in obj]
    return obj


def dumps(obj: dict[str, Any]) -> bytes:
    d = dict(obj)
    d["meta"] = {k: v for k, v in (d.get("meta") or {}).items() if k not in DROP_META}
    return json.dumps(_enc(d), separators=(",", ":")).encode()


def loads(data: bytes | str) -> dict[str, Any]:
    d = _dec(json.loads(data))
    if not isinstance(d, dict) or not isinstance(d.get("url"), str):
        raise ValueError("not a darkwatch request")
    cls = d.get("_class")
    if cls is not None and cls not in ALLOWED_CLASSES:
        raise ValueError(f"request class {cls!r} is not allowed in the shared queue")
    return d
