"""Login forms and login walls, recognised by what a page does rather than what it says.

Pure (parsel + form2request, no Scrapy), so the crawl and ``forums test`` share one notion
of "this is a login wall" and "this login worked". Phrases are only a fallback: a forum in
a language or wording nobody listed still redirects to its login page, answers 401/403, or
shows a password form where the content should be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from form2request import Request as FormSubmission
from form2request import form2request
from parsel import Selector

# An <input type=password>, whatever the case of its type attribute.
_PASSWORD_INPUT = "input[translate(@type,'PASSWORD','password')='password']"  # noqa: S105 - an XPath step
_TEXTLIKE = ("", "text", "email")
_LOGOUT_HREF = re.compile(r"log[-_]?out|logoff|sign[-_]?out|deconnexion|abmelden", re.I)
_LOGOUT_TEXT = re.compile(r"^\s*(log ?out|sign ?out|log ?off|déconnexion|se déconnecter|"
                          r"abmelden|cerrar sesión|esci|выйти|выход)\b", re.I)
_MESSAGE_XPATH = ("//*[contains(concat(' ', normalize-space(@class), ' '), ' error')"
                  " or contains(@class, 'alert') or contains(@class, 'flash')"
                  " or contains(@class, 'errorbox') or @role='alert']")


class LoginFormError(ValueError):
    """No usable login form on the page (wrong URL or form selector)."""


@dataclass(slots=True)
class LoginPlan:
    submission: FormSubmission
    username_field: str
    password_field: str
    detected: bool  # field names read from the form, not configured


def doc_of(html: str | Selector, url: str = "") -> Selector:
    return html if isinstance(html, Selector) else Selector(text=html or "<html/>", base_url=url)


def find_login_form(doc: Selector, form_css: str | None = None) -> Selector | None:
    """The configured form (``form_css``), else the first form holding a password input."""
    if form_css:
        for s in doc.css(form_css):
            root = s.root
            if getattr(root, "tag", None) == "form":
                return s
            inner = s.xpath(".//form")  # a wrapper: its first form
            if inner:
                return inner[0]
            outer = s.xpath("ancestor::form[1]")  # an element inside the form
            if outer:
                return outer[0]
        return None
    forms = doc.xpath(f"//form[.//{_PASSWORD_INPUT}]")
    return forms[0] if forms else None


def detect_fields(form: Selector) -> tuple[str | None, str | None]:
    """(username field, password field) read from the form: the password input, and the
    last text/email input before it (forums call it username, login, user, name, email...)."""
    user = None
    for inp in form.xpath(".//input[@name]"):
        kind = (inp.attrib.get("type") or "").strip().lower()
        name = inp.attrib["name"]
        if kind == "password":
            return user, name
        if kind in _TEXTLIKE:
            user = name
    return user, None


def plan_login(html: str | Selector, url: str, username: str, password: str, *,
               form_css: str | None = None, username_field: str | None = None,
               password_field: str | None = None,
               preset_fields: tuple[str, str] | None = None) -> LoginPlan:
    """The request that submits the login form, as a browser would (hidden fields, tokens,
    the submit button), with the credentials in the configured fields, else the engine
    preset's when the form has them, else the fields read from the form."""
    doc = doc_of(html, url)
    form = find_login_form(doc, form_css)
    if form is None:
        where = f"no form matches {form_css!r}" if form_css else "no form with a password field"
        raise LoginFormError(f"{where} on {url}")
    names = set(form.xpath(".//input/@name").getall())
    found_user, found_pass = detect_fields(form)
    if preset_fields is not None:
        found_user = preset_fields[0] if preset_fields[0] in names else found_user
        found_pass = preset_fields[1] if preset_fields[1] in names else found_pass
    ufield = username_field or found_user
    pfield = password_field or found_pass
    if not ufield or not pfield:
        missing = " and ".join(n for n, v in (("username_field", ufield), ("password_field", pfield))
                               if not v)
        raise LoginFormError(f"cannot tell the form's {missing} on {url}: set "
                             f"auth.login.{missing.split(' ')[0]}")
    submission = form2request(form, {ufield: username, pfield: password})
    return LoginPlan(submission, ufield, pfield,
                     detected=not (username_field and password_field))


def page_messages(doc: Selector, limit: int = 2) -> list[str]:
    """Short error/flash messages a page shows (what a failed login says), for reports."""
    out: list[str] = []
    for s in doc.xpath(_MESSAGE_XPATH):
        text = " ".join(" ".join(s.xpath(".//text()").getall()).split())
        if text and text not in out and len(text) < 300:
            out.append(text)
        if len(out) >= limit:
            break
    return out


def login_evidence(html: str | Selector, url: str, username: str,
                   form_css: str | None = None) -> tuple[bool, str]:
    """(logged in?, what the page shows). Proof is a logout link, the username on the page,
    or the login form gone; a password form with none of the others is a failed login."""
    doc = doc_of(html, url)
    logout = any(_LOGOUT_HREF.search(h) for h in doc.css("a::attr(href)").getall()) or any(
        _LOGOUT_TEXT.search(t) for t in doc.css("a::text, button::text").getall())
    text = " ".join(doc.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
                    .getall()).lower()
    shown = bool(username) and len(username) >= 3 and username.lower() in text
    form = find_login_form(doc, form_css) or (find_login_form(doc) if form_css else None)
    if logout or shown:
        proof = "a logout link" if logout else "the username"
        return True, f"{url} shows {proof}"
    if form is None:
        return True, f"{url} shows no login form any more"
    said = page_messages(doc)
    return False, (f"{url} still shows the login form, with no logout link nor the username"
                   + (f"; the page says {' / '.join(repr(m) for m in said)}" if said else ""))


def same_page(a: str, b: str) -> bool:
    """Same host and path (query ignored): a redirect landed on the login page."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.hostname, pa.port, pa.path.rstrip("/")) == (pb.hostname, pb.port, pb.path.rstrip("/"))


def wall_reason(html: str | Selector, url: str, *, status: int = 200, login_url: str | None = None,
                redirected: bool = False, selector_flag: bool = False,
                login_form_css: str | None = None, phrases: list[str] | tuple[str, ...] = ()
                ) -> str | None:
    """Why a page without content is a login wall, or None. Call it on empty pages only:
    many forums show a small login box beside real content."""
    if status in (401, 403):
        return f"HTTP {status}"
    if redirected and login_url and same_page(url, login_url):
        return f"redirected to the login page {url}"
    if selector_flag:
        return "the logged_out selector matches"
    doc = doc_of(html, url)
    if login_form_css and find_login_form(doc, login_form_css) is not None:
        return f"the login_form selector {login_form_css!r} matches"
    if find_login_form(doc) is not None:
        return (f"redirected to {url}, a page with a password form" if redirected
                else "the page's content is a password form")
    low = doc.xpath("string(//body)").get("").lower() if doc.xpath("//body") else ""
    low = low or (html if isinstance(html, str) else "").lower()
    for phrase in phrases:
        if phrase.lower() in low:
            return f"the page says {phrase!r}"
    return None


__all__ = ["LoginFormError", "LoginPlan", "detect_fields", "find_login_form", "login_evidence",
           "page_messages", "plan_login", "same_page", "wall_reason"]
