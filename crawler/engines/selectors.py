"""The selector vocabulary shared by engine presets and ``engine: custom`` configs.

A selector string is CSS by default (parsel's ``::text`` and ``::attr(name)`` allowed),
or XPath when prefixed with ``xpath:``. Row-level selectors (``thread_*`` on boards,
``post_*`` on threads) are evaluated relative to their container.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Selectors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Board (thread listing) pages
    thread_row: str | None = None  # one element per thread row
    thread_link: str | None = None  # within row: <a> to the thread (href + title text)
    thread_marker: str | None = None  # within row: what changes when a post is added
    board_next: str | None = None  # link to the next board page
    subboard_link: str | None = None  # links to child boards to crawl as boards

    # Thread pages
    thread_title: str | None = None
    post: str | None = None  # one element per post
    post_id: str | None = None  # within post: yields the id (attr or text)
    post_id_regex: str | None = None  # first group extracts the id from post_id's value
    author: str | None = None
    published: str | None = None  # prefer an attribute with a machine-readable date
    body: str | None = None
    quote: str | None = None  # within body: quoted blocks, moved to quoted_text
    signature: str | None = None  # within post/body: removed
    exclude: str | None = None  # within body: other non-content blocks, removed
    thread_next: str | None = None  # link to the next thread page
    thread_last: str | None = None  # link to the last thread page (optional shortcut)

    # Session
    logged_out: str | None = None  # present only when the page is a login wall
    login_form: str | None = None  # the login <form> on the login page

    def merged(self, overrides: Selectors | None) -> Selectors:
        """Preset values with the config's non-empty overrides on top."""
        if overrides is None:
            return self
        data = self.model_dump()
        data.update(overrides.model_dump(exclude_none=True))
        return Selectors(**data)


REQUIRED_FOR_CRAWL = ("thread_row", "thread_link", "post", "post_id", "body")
