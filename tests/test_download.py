"""Fault tests of the data layer against a real HTTP server on 127.0.0.1 serving fixture files."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import tarfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import utils.datasets as datasets
from utils.download import (
    ChecksumError,
    DataError,
    DataNotFoundError,
    RemoteFile,
    SchemaError,
    _write_sidecar,
    fetch,
    file_hash,
)

PAYLOAD = b"id,text\n" + b"".join(f"{i},row {i}\n".encode() for i in range(2000))
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder`` (partial downloads included; the lock files aside)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != ".lock")


def test_download_falls_back_after_404(server, cache):
    server.serve("/good/table.csv", PAYLOAD)
    remote = RemoteFile("demo", "table.csv", (server.url("/gone/table.csv"), server.url("/good/table.csv")),
                        known_hash=f"sha256:{SHA256}")
    path = fetch(remote)
    assert path == cache / "demo" / "table.csv"
    assert path.read_bytes() == PAYLOAD
    assert server.hits == ["/gone/table.csv", "/good/table.csv"]
    # A second fetch is served from the cache, without touching the network.
    assert fetch(remote) == path and len(server.hits) == 2


def test_corrupted_bytes_fail_the_checksum_and_leave_nothing(server, cache):
    server.serve("/table.csv", PAYLOAD.replace(b"row 7", b"row 8"))
    remote = RemoteFile("demo", "table.csv", (server.url("/table.csv"),), known_hash=f"sha256:{SHA256}")
    with pytest.raises(ChecksumError, match="failed its checks.*nothing was kept"):
        fetch(remote)
    assert leftovers(cache) == []


@pytest.mark.parametrize("behaviour", ["truncate", "reset"])
def test_interrupted_transfer_leaves_no_partial_file(server, cache, behaviour):
    server.serve("/table.csv", PAYLOAD, behaviour)
    # No known hash: only the transfer itself can tell that the file is incomplete.
    remote = RemoteFile("demo", "table.csv", (server.url("/table.csv"),))
    with pytest.raises(DataNotFoundError, match="the transfer broke off before the end"):
        fetch(remote)
    assert leftovers(cache) == []


def test_offline_and_missing_gives_one_clear_line(cache):
    with socket.socket() as probe:  # a port that nothing listens on: as good as offline
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/Train_rev1.csv.tar"
    remote = RemoteFile("salary", "Train_rev1.csv", (url,), archive="Train_rev1.csv.tar", member="Train_rev1.csv")
    with pytest.raises(DataNotFoundError) as raised:
        fetch(remote)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Train_rev1.csv is in neither the mirror nor the cache")
    assert url in message
    assert str(cache / "salary" / "Train_rev1.csv.tar") in message
    assert "COURSE_DATA_MIRROR" in message
    assert leftovers(cache) == []


def make_tar(member: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_archive_member_is_extracted_and_checked(server, cache):
    server.serve("/bundle.tar", make_tar("inner/table.csv", PAYLOAD))
    remote = RemoteFile("demo", "table.csv", (server.url("/bundle.tar"),), archive="bundle.tar",
                        member="inner/table.csv", member_hash=f"sha256:{SHA256}")
    assert fetch(remote).read_bytes() == PAYLOAD
    # Each cached file has its sidecar (hash, size, mtime) for the cheap re-check on later loads.
    assert leftovers(cache) == ["demo/bundle.tar", "demo/bundle.tar.check", "demo/table.csv", "demo/table.csv.check"]


def test_damaged_archive_is_reported_and_nothing_extracted(server, cache):
    server.serve("/bundle.tar", b"this is not a tar archive" * 40)
    remote = RemoteFile("demo", "table.csv", (server.url("/bundle.tar"),), archive="bundle.tar",
                        member="inner/table.csv")
    with pytest.raises(DataError, match="not a valid bundle.tar holding inner/table.csv"):
        fetch(remote)
    assert not (cache / "demo" / "table.csv").exists()
    assert not [name for name in leftovers(cache) if name.endswith(".part")]


def test_mirror_file_is_verified_before_use(tmp_path, monkeypatch, cache):
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo" / "table.csv.gz").write_bytes(gzip.compress(PAYLOAD))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    remote = RemoteFile("demo", "table.csv", ("http://127.0.0.1:9/unused",),
                        mirror_hashes={"table.csv.gz": "0" * 64})
    with pytest.raises(ChecksumError, match="table.csv.gz is corrupt"):
        fetch(remote)


def test_mirror_binary_without_recorded_hash_is_refused(tmp_path, monkeypatch, cache):
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo" / "model.pkl").write_bytes(b"\x80\x04N.")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="no recorded checksum"):
        fetch(RemoteFile("demo", "model.pkl", ()))


SALARY_HEADER = ",".join(datasets.SALARY_COLUMNS)


def salary_csv(rows: int) -> bytes:
    lines = [SALARY_HEADER] + [
        f'{i},Engineer {i},"Build things, well. Ad {i}",Loc,Loc,,permanent,Acme {i % 7},IT Jobs,30k,{20000 + i},site'
        for i in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_mirror_head_gives_the_same_first_rows_as_the_full_file(server, tmp_path, monkeypatch, cache):
    full = salary_csv(500)
    head = b"".join(full.splitlines(keepends=True)[:201])  # header + the first 200 rows
    server.serve("/Train_rev1.csv.tar", make_tar("Train_rev1.csv", full))
    mirror = tmp_path / "mirror"
    (mirror / "salary").mkdir(parents=True)
    gz_head = gzip.compress(head)
    (mirror / "salary" / "Train_rev1.csv.gz").write_bytes(gz_head)
    fixture = replace(datasets.SALARY_FILE, urls=(server.url("/Train_rev1.csv.tar"),),
                      mirror_hashes={"Train_rev1.csv.gz": hashlib.sha256(gz_head).hexdigest()})
    monkeypatch.setattr(datasets, "SALARY_FILE", fixture)

    downloaded = datasets.load_salary(nrows=150)  # no mirror yet: the full file is downloaded
    assert server.hits == ["/Train_rev1.csv.tar"]
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    mirrored = datasets.load_salary(nrows=150)
    pd.testing.assert_frame_equal(downloaded, mirrored)
    assert len(datasets.load_salary()) == 200  # asking for more gives what the head has


def test_wrong_columns_raise_a_schema_error(cache):
    (cache / "salary").mkdir(parents=True)
    member = cache / "salary" / "Train_rev1.csv"
    member.write_text("Id,Title,Salary\n1,Engineer,30000\n")
    _write_sidecar(member, "sha256:" + file_hash(member))  # as if it had been extracted and recorded
    with pytest.raises(SchemaError, match=r"missing \['FullDescription'"):
        datasets.load_salary()


def test_polarity_rejects_unknown_labels(tmp_path, monkeypatch, cache):
    (cache / "polarity").mkdir(parents=True)
    (cache / "polarity" / "train.csv").write_text('"3","t","x"\n')
    monkeypatch.setattr(datasets, "POLARITY_MEMBER_MD5", {"train.csv": hashlib.md5(b'"3","t","x"\n').hexdigest(),
                                                          "test.csv": "0" * 32})
    with pytest.raises(SchemaError, match="labels must be 1"):
        datasets.load_polarity("train")


def test_relative_data_folders_are_read_from_the_checkout_root(monkeypatch, tmp_path):
    """make resolves COURSE_DATA_DIR=data2 from the repository root; a kernel in notebooks/ must agree."""
    from utils import download

    checkout = Path(download.__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", "cache-elsewhere")
    monkeypatch.setenv("COURSE_DATA_MIRROR", "mirror-elsewhere")
    assert download.cache_dir() == checkout / "cache-elsewhere"
    assert download.mirror_dir() == checkout / "mirror-elsewhere"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "absolute"))
    assert download.cache_dir() == tmp_path / "absolute"
