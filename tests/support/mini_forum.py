"""A two-thread forum served on loopback from fixed pages, and its custom-engine config entry."""

from __future__ import annotations

import http.server

BOARD = """<html><body><table>
<tr class="thread"><td><a class="title" href="/t/1">Base patients labo</a></td><td class="last">p2</td></tr>
<tr class="thread"><td><a class="title" href="/t/2">Hello</a></td><td class="last">p3</td></tr>
</table></body></html>"""

THREAD = """<html><body><h1>{title}</h1>{posts}</body></html>"""

POST = ('<div class="msg" id="msg-{pid}"><span class="user">user{pid}</span>'
        '<time datetime="2026-01-0{pid}T10:00:00Z">x</time><div class="body">post number {pid}</div></div>')


PAGES = {
    "/board": BOARD,
    "/t/1": THREAD.format(title="Base patients labo", posts=POST.format(pid=1) + POST.format(pid=2)),
    "/t/2": THREAD.format(title="Hello", posts=POST.format(pid=3)),
}


class PagesHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = PAGES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def forum_entry(name: str, base: str) -> dict:
    return {
        "name": name, "engine": "custom", "start_urls": [f"{base}/board"], "delay": 0,
        "selectors": {
            "thread_row": "tr.thread", "thread_link": "a.title", "thread_marker": "td.last::text",
            "thread_title": "h1::text", "post": "div.msg", "post_id": "::attr(id)",
            "post_id_regex": "msg-(\\d+)", "author": ".user::text", "published": "time::attr(datetime)",
            "body": "div.body",
        },
    }
