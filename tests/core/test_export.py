import csv
import io
import json

from crawler.model import POST_FIELDS, Post
from crawler.sinks.sqlite import SqliteStore
from tests.support.cli import darkwatch, write_config


def test_posts_export_jsonl_and_csv(tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml",
                       [{"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:1/"]}])
    store = SqliteStore(str(tmp_path / "darkwatch.db"))
    store.write_posts([
        Post(forum="f", thread_url="t", thread_title="Fichier, \"patients\"", post_id=str(i),
             author="a", published=f"2024-0{i}-01T00:00:00Z", text=f"ligne {i}\nsuite",
             quoted_text="", url="u")
        for i in (1, 2, 3)])
    store.close()
    res = darkwatch("posts", "export", "--config", str(cfg), "--since", "2024-02-01")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["post_id"] for r in rows] == ["2", "3"]
    assert list(rows[0]) == list(POST_FIELDS)
    res = darkwatch("posts", "export", "--config", str(cfg), "--format", "csv")
    table = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(table) == 3 and table[0]["thread_title"] == 'Fichier, "patients"'
    assert table[0]["text"] == "ligne 1\nsuite"
    bad = darkwatch("posts", "export", "--config", str(cfg), "--since", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
