"""``darkwatch kibana import``: load the shipped saved objects into Kibana (overwrite).

Posts ``deploy/kibana/darkwatch.ndjson`` to ``/api/saved_objects/_import?overwrite=true`` as
multipart ``file`` with the ``kbn-xsrf`` header Kibana requires. Stdlib HTTP on purpose: one
request, and no extra dependency for it. Secrets (API key, password) never appear in output.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_STORE
from crawler.privacy import redact

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "darkwatch.ndjson"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kibana", help="Kibana: import darkwatch's data views, searches and dashboard")
    ksub = p.add_subparsers(dest="kibana_command", metavar="ACTION", required=True)
    imp = ksub.add_parser("import", help="import (overwrite) the saved objects into Kibana")
    imp.add_argument("--url", default=os.environ.get("KIBANA_URL"),
                     help="Kibana base URL, e.g. https://kibana.example:5601 (or $KIBANA_URL)")
    imp.add_argument("--api-key", default=os.environ.get("KIBANA_API_KEY"),
                     help="encoded API key (or $KIBANA_API_KEY)")
    imp.add_argument("--username", default=os.environ.get("KIBANA_USERNAME"))
    imp.add_argument("--password", default=os.environ.get("KIBANA_PASSWORD"),
                     help="(or $KIBANA_PASSWORD; prefer the variable: argv is visible to others)")
    imp.add_argument("--space", help="Kibana space id (default: the default space)")
    imp.add_argument("--file", default=str(DEFAULT_FILE), help="NDJSON to import")
    imp.add_argument("--ca-cert", help="CA bundle for https")
    imp.add_argument("--insecure", action="store_true", help="do not verify Kibana's TLS certificate")
    imp.add_argument("--timeout", type=float, default=60)
    imp.set_defaults(handler=import_objects)


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"darkwatch-{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/ndjson\r\n\r\n").encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def import_objects(args: argparse.Namespace) -> int:
    if not args.url:
        print("error: --url (or $KIBANA_URL) is required, e.g. --url http://127.0.0.1:5601", file=sys.stderr)
        return EXIT_CONFIG
    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}; pass --file deploy/kibana/darkwatch.ndjson",
              file=sys.stderr)
        return EXIT_CONFIG
    base = args.url.rstrip("/")
    shown = redact(base)  # an operator may put user:password@ in --url
    space = f"/s/{args.space}" if args.space else ""
    url = f"{base}{space}/api/saved_objects/_import?overwrite=true"
    body, ctype = multipart(path.name, content)
    req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (operator-given URL)
    req.add_header("kbn-xsrf", "darkwatch")
    req.add_header("Content-Type", ctype)
    if args.api_key:
        req.add_header("Authorization", f"ApiKey {args.api_key}")
    elif args.username:
        token = base64.b64encode(f"{args.username}:{args.password or ''}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    ctx = None
    if base.startswith("https"):
        ctx = ssl.create_default_context(cafile=args.ca_cert)
        if args.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=args.timeout, context=ctx) as resp:  # noqa: S310
            result = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        for secret in (args.api_key, args.password):
            if secret:
                detail = detail.replace(secret, "***")
        hint = {401: "the credentials were rejected: check --api-key / --username and $KIBANA_PASSWORD",
                403: "the account may not import saved objects (needs Saved Objects Management: all)",
                404: "no saved-objects API here: is --url Kibana (not Elasticsearch), and the space right?"}
        print(redact(f"error: Kibana at {shown} answered {exc.code}: {hint.get(exc.code, detail)}"),
              file=sys.stderr)
        return EXIT_STORE
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(redact(f"error: Kibana at {shown} is unreachable ({reason}): is it running, is --url right?"),
              file=sys.stderr)
        return EXIT_STORE
    except ValueError:
        print(f"error: {shown} did not answer with JSON: is --url Kibana?", file=sys.stderr)
        return EXIT_STORE
    if not result.get("success"):
        for err in result.get("errors", []):
            print(f"error: {err.get('type')} {err.get('id')}: {json.dumps(err.get('error'))}",
                  file=sys.stderr)
        print(f"imported {result.get('successCount', 0)} object(s), {len(result.get('errors', []))} failed",
              file=sys.stderr)
        return EXIT_PARTIAL
    print(f"imported {result.get('successCount', 0)} object(s) into {shown}{space or ''} (overwrite)")
    return EXIT_OK
