"""Dumps as posted: compressed, archived, nested, damaged, hostile, mis-encoded (crawler.dumps).

Each case runs the real ``darkwatch scan`` (or the stream layer for the bounds) and asserts the
reason it reports, and that the other files' report is kept.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from crawler.dumps.sources import Limits, open_sources
from tests.support.dumps import write_dump

ENV = {**os.environ, "DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"}
NIR = "185057800608491"  # valid (key 91)


def scan(*paths: Path) -> tuple[int, dict, str]:
    out = subprocess.run([sys.executable, "-m", "crawler", "scan", *map(str, paths), "--summary",
                          "--format", "json"], capture_output=True, text=True, env=ENV, timeout=300)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout), out.stderr


def by_path(d: dict) -> dict[str, dict]:
    return {f["path"]: f for f in d["files"]}


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    d = tmp_path_factory.mktemp("dump")
    truth = write_dump(d / "d.csv", 3000, seed=9)
    return d / "d.csv", truth


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("variant", ["gz", "bz2", "xz", "zip", "tar", "tar.gz", "tar.xz"])
def test_compressed_and_archived_counts_equal_the_truth(tmp_path, dump, variant):
    src, truth = dump
    raw = src.read_bytes()
    packed = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
              "zip": lambda b: _zip({"export/patients.csv": b}),
              "tar": lambda b: _tar({"export/patients.csv": b}),
              "tar.gz": lambda b: _tar({"export/patients.csv": b}, "w:gz"),
              "tar.xz": lambda b: _tar({"export/patients.csv": b}, "w:xz")}[variant](raw)
    f = tmp_path / f"leak.{variant}"
    f.write_bytes(packed)
    code, d, _err = scan(f)
    assert code == 0
    assert d["records"] == truth.rows
    assert d["nir_distinct"] == truth.nir_distinct
    assert d["labs"] == dict(truth.labs)
    assert [c["kind"] for c in d["columns"]][:2] == ["nir", "last_name"]
    name = d["files"][0]["path"]
    assert name.startswith(str(f)) and (("!export/patients.csv" in name) == (variant not in
                                                                             ("gz", "bz2", "xz")))
    assert not (tmp_path / "export").exists()  # never extracted


def test_truncated_archive_keeps_what_was_read_and_the_other_files(tmp_path, dump):
    src, truth = dump
    (tmp_path / "cut.csv.gz").write_bytes(gzip.compress(src.read_bytes())[:20_000])
    (tmp_path / "ok.csv").write_bytes(src.read_bytes())
    code, d, err = scan(tmp_path)
    files = by_path(d)
    cut = files[str(tmp_path / "cut.csv.gz")]
    assert code == 2
    assert cut["error"].startswith("truncated")
    assert 0 < cut["lines"] < truth.rows  # the text before the damage was scanned
    assert "error" not in files[str(tmp_path / "ok.csv")]
    assert f"{tmp_path / 'cut.csv.gz'}: truncated" in err


def test_zip_bomb_is_cut_at_the_expansion_ratio(tmp_path):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip({"big.csv": b"0" * (8 << 20)}))  # ~1000x
    limits = Limits(ratio_floor=1 << 20)
    [src] = list(open_sources(str(bomb), limits))
    got = len(src.stream.read())
    assert got < 2 << 20  # stopped soon after the floor, not 8 MB later
    assert src.cut().startswith("decompression bomb: more than 200x expansion")


def test_zip_bomb_via_the_cli_is_reported(tmp_path):
    (tmp_path / "bomb.zip").write_bytes(_zip({"big.csv": b"0" * (48 << 20)}))
    (tmp_path / "ok.csv").write_text(f"{NIR}\n")
    code, d, err = scan(tmp_path)
    files = by_path(d)
    assert code == 2
    assert "decompression bomb" in files[f"{tmp_path / 'bomb.zip'}!big.csv"]["error"]
    assert d["nir_distinct"] == 1 and "error" not in files[str(tmp_path / "ok.csv")]


def test_ten_level_nested_archive_stops_at_the_depth_bound(tmp_path):
    data = _zip({"level10.csv": f"{NIR}\n".encode()})
    for i in range(9, 0, -1):
        data = _zip({f"level{i}.zip": data}) if i % 2 else gzip.compress(_tar({f"l{i}.tar": data}))
    f = tmp_path / "nested.zip"
    f.write_bytes(data)
    code, d, _err = scan(f)
    [entry] = d["files"]
    assert code == 2
    assert "nested more than 4 deep" in entry["error"] and "a nesting trap" in entry["error"]
    assert entry["path"].count("!") == 3


def test_binary_under_a_csv_name_is_named_and_still_read(tmp_path):
    f = tmp_path / "patients.csv"
    f.write_bytes(bytes(range(256)) * 200 + f" {NIR} ".encode() + b"\x00" * 5000)
    code, d, err = scan(f)
    assert code == 0
    assert "binary content" in d["files"][0]["warnings"][0]
    assert "warning:" in err and "binary content" in err
    assert d["nir_distinct"] == 1


def test_mixed_encodings(tmp_path):
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"nir;labo\n" + f"{NIR};Bioestérel\n".encode()
                      + f"{NIR[:13]}{NIR[13:]};Bioestérel\n".encode("latin-1"))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("nir;labo\n269054958815780;Bioestérel\n".encode("utf-16"))  # with BOM
    code, d, _err = scan(mixed, utf16)
    files = by_path(d)
    assert code == 0
    assert d["labs"] == {"bioesterel": 3}  # é as UTF-8, as Latin-1, and in UTF-16
    assert d["nir_distinct"] == 2
    assert files[str(utf16)]["encoding"] == "utf-16"
    assert [c["name"] for c in d["columns"]] == ["nir", "labo"]


def test_ten_thousand_columns_and_a_long_single_line(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(";".join(["nir"] + [f"c{i}" for i in range(9_999)]) + "\n"
                    + ";".join([NIR] + ["x"] * 9_999) + "\n")
    line = tmp_path / "line.txt"
    with open(line, "w") as fh:  # 100 MB, one line, a NIR at both ends
        fh.write(f"{NIR} ")
        block = "lorem ipsum " * 87_382  # ~1 MiB
        for _ in range(100):
            fh.write(block)
        fh.write(" 269054958815780")
    code, d, _err = scan(wide, line)
    files = by_path(d)
    assert code == 0
    assert files[str(wide)]["lines"] == 2 and files[str(line)]["lines"] == 1
    assert d["nir_distinct"] == 2 and d["nir_matches"] == 3
    assert len(d["columns"]) == 10_000
    assert d["columns"][0] == {"name": "nir", "kind": "nir", "from": "header"}


def test_unreadable_file_in_a_folder_is_reported_and_the_rest_scanned(tmp_path):
    (tmp_path / "a.csv").write_text(f"{NIR}\n")
    os.symlink("/proc/self/mem", tmp_path / "b.csv")  # a regular file whose read fails (EIO)
    code, d, err = scan(tmp_path)
    files = by_path(d)
    assert code == 2
    assert files[str(tmp_path / "b.csv")]["error"].startswith("cannot read: ")
    assert "error" not in files[str(tmp_path / "a.csv")] and d["nir_distinct"] == 1


def test_encrypted_member_is_reported_not_guessed(tmp_path):
    data = bytearray(_zip({"secret.csv": f"{NIR}\n".encode(), "open.csv": f"{NIR}\n".encode()}))
    # set the "encrypted" flag of secret.csv in its local header and central directory entry
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.index(sig)
        off = at + (6 if sig == b"PK\x03\x04" else 8)
        data[off] |= 0x1
    f = tmp_path / "x.zip"
    f.write_bytes(bytes(data))
    code, d, _err = scan(f)
    files = by_path(d)
    assert code == 2
    assert files[f"{f}!secret.csv"]["error"].startswith("encrypted member: not read")
    assert d["nir_distinct"] == 1 and "error" not in files[f"{f}!open.csv"]


def test_traversal_names_and_member_count_are_reported(tmp_path):
    f = tmp_path / "t.tar"
    f.write_bytes(_tar({"../../etc/cron.d/x.csv": f"{NIR}\n".encode()}))
    code, d, err = scan(f)
    assert code == 0 and d["nir_distinct"] == 1
    assert "'..'" in d["files"][0]["warnings"][0] and "escape an extraction folder" in err
    many = tmp_path / "many.zip"
    many.write_bytes(_zip({f"m{i}.csv": b"x\n" for i in range(12)}))
    srcs = list(open_sources(str(many), Limits(max_members=5)))
    assert "more than 5 members" in srcs[0].error or "more than 5" in srcs[0].error
    assert len([s for s in srcs if s.stream is not None]) == 5


def test_scope_fields_equal_the_generator_truth(tmp_path, dump):
    src, truth = dump
    code, d, _err = scan(src)
    occurrences = sum(truth.nir_counts.values())
    sexes = {"male": 0, "female": 0}
    decades: dict[str, int] = {}
    for n, c in truth.nir_counts.items():
        sexes["male" if n[0] in "137" else "female"] += c
        decades[f"{n[1]}0s"] = decades.get(f"{n[1]}0s", 0) + c
    assert code == 0
    assert d["nir_matches"] == occurrences
    assert d["nir_duplicates"] == occurrences - truth.nir_distinct
    assert {k: v for k, v in d["sex"].items() if v} == {k: v for k, v in sexes.items() if v}
    assert d["birth_years"] == dict(sorted(decades.items()))
    assert sum(d["birth_departments"].values()) <= occurrences
    assert d["health_fields"] == ["blood_group", "gp", "insurer", "lab", "nir", "notes"]
    assert all(c["from"] == "both" for c in d["columns"]), d["columns"]  # header and values agree


def test_columns_from_values_without_a_header(tmp_path, dump):
    src, truth = dump
    headless = tmp_path / "noheader.csv"
    headless.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[1:]),
                        encoding="utf-8")
    code, d, _err = scan(headless)
    assert code == 0
    assert d["records"] == truth.rows  # no header: every line is a record
    kinds = [c["kind"] for c in d["columns"]]
    assert kinds == ["nir", "last_name", "first_name", "birth_date", "blood_group", "gp",
                     "insurer", "lab", "notes"], d["columns"]
    assert all(c["from"] == "values" and c["name"].startswith("column ") for c in d["columns"])


def test_sql_and_json_lines_dumps_count_their_records(tmp_path, dump):
    src, truth = dump
    rows = [r.split(";") for r in src.read_text(encoding="utf-8").splitlines()[1:]]
    sql = tmp_path / "dump_biogroup_2021.sql"
    with open(sql, "w", encoding="utf-8") as fh:
        fh.write("-- MySQL dump 10.13\nCREATE TABLE patients (nir varchar(21), nom text);\n")
        for i in range(0, len(rows), 700):  # multi-row INSERTs, as mysqldump writes them
            fh.write("INSERT INTO `patients` VALUES "
                     + ",".join("('" + "','".join(c.replace("'", "''") for c in r) + "')"
                                for r in rows[i:i + 700]) + ";\n")
    jsonl = tmp_path / "dump.jsonl"
    jsonl.write_text("".join(json.dumps({"nir": r[0], "labo": r[7]}, ensure_ascii=False) + "\n"
                             for r in rows), encoding="utf-8")
    code, d, _err = scan(sql, jsonl)
    files = by_path(d)
    assert code == 0
    assert files[str(sql)]["format"] == "sql" and files[str(sql)]["records"] == truth.rows
    assert files[str(jsonl)]["format"] == "jsonl"
    assert d["records"] == 2 * truth.rows
    assert d["nir_distinct"] == truth.nir_distinct
    assert d["labs"] == {k: 2 * v for k, v in truth.labs.items()}
