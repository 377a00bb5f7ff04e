"""Login walls and logins recognised by behaviour (pure logic of crawler.engines.login)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from crawler.config.models import AuthConfig
from crawler.engines.login import LoginFormError, login_evidence, plan_login, wall_reason

URL = "http://127.0.0.1:1/auth/login"
FORM = """<html><body>
<form action="/search" method="get"><input type="text" name="q"></form>
<form class="auth" method="post" action="/auth/login">
  <input type="hidden" name="csrf_token" value="tok">
  <input type="email" name="login"><input type="PASSWORD" name="pw">
  <button type="submit" name="go" value="1">Sign in</button>
</form></body></html>"""


def test_fields_are_read_from_the_password_form_not_the_search_form():
    plan = plan_login(FORM, URL, "analyst", "secret")
    assert (plan.username_field, plan.password_field, plan.detected) == ("login", "pw", True)
    sub = plan.submission
    assert sub.method == "POST" and sub.url == URL
    assert dict(parse_qsl(sub.body.decode())) == {"csrf_token": "tok", "login": "analyst",
                                                 "pw": "secret", "go": "1"}


def test_configured_and_preset_field_names():
    plan = plan_login(FORM, URL, "a", "b", username_field="email", password_field="pw")
    assert "email=a" in plan.submission.body.decode() and not plan.detected
    # A preset's default names are used only when the form has them.
    plan = plan_login(FORM, URL, "a", "b", preset_fields=("username", "pw"))
    assert plan.username_field == "login" and plan.password_field == "pw"


def test_no_login_form_is_a_clear_error():
    with pytest.raises(LoginFormError, match="no form with a password field"):
        plan_login("<form><input name=q></form>", URL, "a", "b")
    with pytest.raises(LoginFormError, match="no form matches 'form#login'"):
        plan_login(FORM, URL, "a", "b", form_css="form#login")


@pytest.mark.parametrize(("page", "ok", "says"), [
    ('<a href="/auth/logout">Sign off</a>', True, "logout link"),
    ("<p>Welcome back, Analyst</p>", True, "username"),
    ("<p>Threads</p>", True, "no login form"),
    (FORM.replace("<body>", '<body><div class="alert alert-danger">Wrong password.</div>'),
     False, "'Wrong password.'"),
])
def test_login_evidence(page, ok, says):
    got, saw = login_evidence(page, URL, "analyst")
    assert got is ok and says in saw


def test_walls_by_behaviour_then_phrases():
    assert wall_reason("<p>x</p>", URL, status=401) == "HTTP 401"
    assert "redirected to the login page" in wall_reason(
        "<p>Sign in</p>", URL + "?next=/f/4", redirected=True, login_url=URL)
    assert wall_reason(FORM, "http://127.0.0.1:1/f/4") == "the page's content is a password form"
    phrases = AuthConfig().logged_out_text
    assert "sie müssen angemeldet sein" in wall_reason(
        "<p>Sie müssen angemeldet sein.</p>", URL, phrases=phrases)
    assert wall_reason("<p>Keine Beiträge</p>", URL, phrases=phrases) is None
