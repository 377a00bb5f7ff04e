"""Browser cookie exports (Netscape cookies.txt or JSON) -> Scrapy cookie dicts.

Analysts log in once in Tor Browser and export cookies; we never store the password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class CookieFileError(ValueError):
    pass


def load_cookies(path: str) -> list[dict[str, Any]]:
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CookieFileError(f"{path}: cannot read cookies file: {exc}") from None
    if raw.lstrip().startswith(("[", "{")):
        return _from_json(path, raw)
    return _from_netscape(path, raw)


def _from_json(path: str, raw: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CookieFileError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(data, dict):  # {"cookies": [...]} or {name: value}
        data = data.get("cookies", [{"name": k, "value": v} for k, v in data.items()])
    out = []
    for i, c in enumerate(data):
        if not isinstance(c, dict) or "name" not in c or "value" not in c:
            raise CookieFileError(f"{path}: cookie #{i + 1} needs 'name' and 'value'")
        cookie = {"name": str(c["name"]), "value": str(c["value"])}
        if c.get("domain"):
            cookie["domain"] = str(c["domain"])
        if c.get("path"):
            cookie["path"] = str(c["path"])
        out.append(cookie)
    return out


def _from_netscape(path: str, raw: str) -> list[dict[str, Any]]:
    out = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise CookieFileError(
                f"{path}:{lineno}: expected 7 tab-separated fields "
                "(domain, flag, path, secure, expiry, name, value) in Netscape cookies.txt"
            )
        domain, _flag, cpath, _secure, _expiry, name, value = parts
        out.append({"name": name, "value": value, "domain": domain, "path": cpath or "/"})
    return out
