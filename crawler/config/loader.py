"""Read, expand and validate darkwatch.yml; every failure names file, line, key and the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from crawler.config.models import Config
from crawler.config.rules import KEY_FILE_NAME
from crawler.problems import Problem
from crawler.shipped import SHIPPED_RULES  # noqa: E402 - re-exported: the default rules.paths
from crawler.yamlpos import LocatedDoc, YamlError, load_documents, read_text

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` lists every defect found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _expand(value: Any, path: tuple[Any, ...], doc: LocatedDoc, file: str, problems: list[Problem]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*path, k), doc, file, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), doc, file, problems) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            line, col = doc.key_where(path)
            problems.append(
                Problem(file, line, col,
                        f"environment variable {name} is not set "
                        f"(export it, put it in the env file, or write ${{{name}:-default}})",
                        _dotted(path))
            )
            return ""

        return _ENV.sub(sub, value)
    return value


def _resolve_paths(cfg: Config, base: Path) -> None:
    """Relative paths in the config are relative to the config file, so cron's cwd does not matter."""

    def rel(p: str | None) -> str | None:
        if p is None or p == ":memory:" or os.path.isabs(p):
            return p
        return str((base / p).resolve())

    cfg.store.sqlite = rel(cfg.store.sqlite) or cfg.store.sqlite
    if cfg.store.elasticsearch:
        cfg.store.elasticsearch.spool_dir = rel(cfg.store.elasticsearch.spool_dir) or ""
        cfg.store.elasticsearch.ca_cert = rel(cfg.store.elasticsearch.ca_cert)
    cfg.rules.fingerprint_key_file = rel(cfg.rules.fingerprint_key_file)
    if cfg.rules.fingerprint_key_file is None and cfg.store.sqlite != ":memory:":
        cfg.rules.fingerprint_key_file = str(Path(cfg.store.sqlite).parent / KEY_FILE_NAME)
    if "paths" in cfg.rules.model_fields_set:
        cfg.rules.paths = [rel(p) or p for p in cfg.rules.paths]
    else:
        cfg.rules.paths = [str(SHIPPED_RULES)]
    for forum in cfg.forums:
        forum.auth.cookies_file = rel(forum.auth.cookies_file)


def parse_config(text: str, file: str = "<string>", base: Path | None = None) -> Config:
    try:
        docs = load_documents(text)
    except YamlError as exc:
        raise ConfigError([Problem(file, exc.line, exc.column, exc.describe())]) from None
    if len(docs) > 1:
        raise ConfigError([Problem(file, 1, 1, "one YAML document expected; remove the '---' "
                                   "separators (forums go in one 'forums:' list)")])
    located = docs[0] if docs else LocatedDoc({})
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, 1, "the top level must be a mapping "
                                   "with keys like 'store:' and 'forums:'")])
    problems: list[Problem] = []
    data = _expand(data, (), located, file, problems)
    if problems:
        raise ConfigError(problems)
    duplicates = _duplicate_forums(data, located, file)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            if duplicates and not err["loc"] and "is used twice" in err["msg"]:
                continue  # said at the duplicate's own line below
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            line, col = located.key_where(loc)
            problems.append(Problem(file, line, col, _explain(err), _dotted(loc)))
        raise ConfigError(problems + duplicates) from None
    if duplicates:
        raise ConfigError(duplicates)
    cfg.source = file
    _resolve_paths(cfg, base or Path.cwd())
    return cfg


def _duplicate_forums(data: dict[str, Any], doc: LocatedDoc, file: str) -> list[Problem]:
    """A forum name used twice, at the second use (the model's own check has no position)."""
    forums = data.get("forums")
    if not isinstance(forums, list):
        return []
    first: dict[str, int] = {}
    out = []
    for i, forum in enumerate(forums):
        name = forum.get("name") if isinstance(forum, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            line, col = doc.where(("forums", i, "name"))
            out.append(Problem(file, line, col,
                               f"forum name {name!r} is used twice (first at line "
                               f"{doc.where(('forums', first[name], 'name'))[0]}); "
                               "names must be unique", f"forums[{i}].name"))
        else:
            first[name] = i
    return out


def _explain(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; see the README's configuration reference)"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{err['msg'].replace('Input should be', 'expected')}, got {err.get('input')!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def read_config_text(path: str | os.PathLike[str]) -> str:
    """The config's text, or ConfigError: missing, not a regular file, over 1 MiB, not UTF-8."""
    p = Path(path)
    try:
        return read_text(p)  # bounded size, regular files only, non-UTF-8 at its line:col
    except FileNotFoundError:
        raise ConfigError([Problem(str(p), 1, 1, "config file not found "
                                   "(pass --config FILE or create ./darkwatch.yml)")]) from None
    except YamlError as exc:
        raise ConfigError([Problem(str(p), exc.line, exc.column, exc.describe())]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(p), 1, 1,
                                   f"cannot read config: {exc.strerror or exc}")]) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    p = Path(path)
    return parse_config(read_config_text(p), str(p), p.resolve().parent)
