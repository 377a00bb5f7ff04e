import textwrap

import pytest

from crawler.config.loader import ConfigError, load_config, parse_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(textwrap.dedent(text), "d.yml")
    return [str(p) for p in exc.value.problems]


def test_minimal_config_defaults_to_embedded_sqlite(tmp_path):
    p = tmp_path / "darkwatch.yml"
    p.write_text("forums:\n  - name: f1\n    engine: phpbb\n    start_urls: ['http://127.0.0.1:1/x']\n")
    cfg = load_config(p)
    assert cfg.store.sqlite == str(tmp_path / "darkwatch.db")  # relative to the config file
    assert cfg.store.elasticsearch is None
    f = cfg.forum("f1")
    assert (f.max_pages, f.delay, f.engine) == (500, 2.0, "phpbb")


def test_errors_name_file_line_and_key():
    out = problems("""\
        store:
          sqlite: x.db
        forums:
          - name: ok-forum
            engine: vbulletin
            start_urls: ["http://127.0.0.1/"]
            max_pagez: 3
        """)
    assert out[0].startswith("d.yml:5:5: forums[0].engine: expected 'phpbb'")
    assert "vbulletin" in out[0]
    assert out[1].startswith("d.yml:7:5: forums[0].max_pagez: unknown key")


def test_yaml_syntax_error_has_line():
    out = problems("forums:\n  - name: a\n   engine: [phpbb\n")
    assert out[0].startswith("d.yml:3:") and "YAML syntax error" in out[0]


def test_env_expansion_and_missing_variable(monkeypatch):
    monkeypatch.setenv("DW_PASS", "hunter2")
    cfg = parse_config(textwrap.dedent("""\
        forums:
          - name: f
            engine: phpbb
            start_urls: ["http://127.0.0.1/"]
            auth:
              login: {url: "http://127.0.0.1/login", username: "${DW_USER:-bob}", password: "${DW_PASS}"}
        """))
    assert cfg.forums[0].auth.login.username == "bob"
    assert cfg.forums[0].auth.login.password == "hunter2"
    monkeypatch.delenv("DW_PASS")
    out = problems("""\
        rules:
          fingerprint_key: "${DW_NOPE}"
        """)
    assert out == [
        "d.yml:2:3: rules.fingerprint_key: environment variable DW_NOPE is not set "
        "(export it, put it in the env file, or write ${DW_NOPE:-default})"
    ]


def test_duplicate_names_and_custom_needs_selectors():
    out = problems("""\
        forums:
          - {name: a, engine: phpbb, start_urls: ["http://127.0.0.1/"]}
          - {name: a, engine: custom, start_urls: ["http://127.0.0.1/"]}
        """)
    text = "\n".join(out)
    assert "engine 'custom' needs selectors: thread_row, thread_link, post, post_id, body" in text
    out = problems("""\
        forums:
          - {name: a, engine: phpbb, start_urls: ["http://127.0.0.1/"]}
          - {name: a, engine: mybb, start_urls: ["http://127.0.0.1/"]}
        """)
    assert "forum name 'a' is used twice" in out[0]


def test_duplicate_yaml_key_is_an_error():
    out = problems("store:\n  sqlite: a.db\n  sqlite: b.db\n")
    assert out[0].startswith("d.yml:3:3:") and "duplicate key 'sqlite'" in out[0]


def test_missing_file_is_actionable(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "nope.yml")
    assert "config file not found" in str(exc.value)
