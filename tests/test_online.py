"""The online path every learner takes, end to end and offline: a real HTTP server on 127.0.0.1 serves
small canonical-format fixtures of every dataset, the registry's URLs and hashes point at it, and each
loader downloads, validates, extracts and returns what the notebooks expect; a second call makes no
request. Then the faults: each raises a one-line DataError and leaves nothing bad in the cache."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import multiprocessing
import os
import signal
import socket
import tarfile
import time
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import utils.datasets as datasets
import utils.download as download
from utils.download import ChecksumError, DataError, DataNotFoundError

pytestmark = pytest.mark.network
MIRROR = Path(os.environ.get("COURSE_DATA_MIRROR") or "/nonexistent")

def files(folder: Path) -> list[str]:
    """What the cache holds (lock files aside)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def one_line_error(kind, call, *args, **kwargs) -> str:
    with pytest.raises(kind) as raised:
        call(*args, **kwargs)
    message = str(raised.value)
    assert "\n" not in message and message, message
    return message


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar(members: dict[str, bytes | None], compress: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            if payload is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Canonical-format fixtures
# --------------------------------------------------------------------------------------------


def salary_csv(rows: int) -> bytes:
    lines = [",".join(datasets.SALARY_COLUMNS)] + [
        f'{12612628 + i},Engineer {i},"Build things, well. Ad {i}",Loc,Loc,,permanent,Acme {i % 7},IT Jobs,30k,'
        f"{20000 + i},site"
        for i in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


SALARY = salary_csv(300)


def use_salary(monkeypatch, server, body: bytes | None = None, behaviour: str = "normal", **kind) -> None:
    url = server.serve("/Train_rev1.csv.tar", tar({"Train_rev1.csv": SALARY}) if body is None else body,
                       behaviour, **kind)
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, urls=(url,)))
    monkeypatch.setattr(datasets, "SALARY_ROWS", 300)


def polarity_rows(start: int, count: int) -> bytes:
    rows = (f'"{1 + (i % 2)}","Title {i}","Text, with ""quotes"" {i}"\n' for i in range(start, start + count))
    return "".join(rows).encode()


def polarity_tgz(train: bytes, test: bytes) -> bytes:
    folder = "amazon_review_polarity_csv/"  # the real layout: the folder, test.csv, train.csv, readme.txt
    return tar({folder: None, folder + "test.csv": test, folder + "train.csv": train, folder + "readme.txt": b"r"},
               compress=True)


def use_polarity(monkeypatch, server, train: bytes, test: bytes, body: bytes | None = None, **limits) -> None:
    url = server.serve("/amazon_review_polarity_csv.tgz", body or polarity_tgz(train, test))
    monkeypatch.setattr(datasets, "POLARITY_URLS", (url,))
    md5 = {"train.csv": hashlib.md5(train).hexdigest(), "test.csv": hashlib.md5(test).hexdigest()}
    monkeypatch.setattr(datasets, "POLARITY_MEMBER_MD5", md5)
    monkeypatch.setattr(datasets, "POLARITY_MEMBER_MAX_BYTES", limits or {"train.csv": 10**7, "test.csv": 10**7})


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gz(header + array.astype(np.uint8).tobytes())


def glove_text(words: int) -> bytes:
    rng = np.random.default_rng(0)
    names = ["the", "king", "queen"] + [f"w{i}" for i in range(words - 3)]
    return "".join(name + " " + " ".join(f"{v:.5f}" for v in rng.normal(size=50)) + "\n" for name in names).encode()


# --------------------------------------------------------------------------------------------
# One test a dataset: download -> validation -> extraction -> loader, then no request
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["tar", "tar.gz"])
def test_salary_tar_and_tar_gz(server, cache, monkeypatch, compressed):
    body = tar({"Train_rev1.csv": SALARY}, compress=compressed)
    first = server.url("/gone.tar")  # the tar.gz is the fallback URL: the first one is gone
    second = server.serve("/Train_rev1.csv.tar.gz", body)
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, urls=(first, second)))
    monkeypatch.setattr(datasets, "SALARY_ROWS", 300)
    ads = datasets.load_salary(nrows=50)
    assert ads.shape == (50, 12) and ads["Id"].iloc[0] == 12612628 and ads["Title"].iloc[49] == "Engineer 49"
    assert len(datasets.load_salary()) == 300
    assert files(cache) == ["salary/Train_rev1.csv", "salary/Train_rev1.csv.check", "salary/Train_rev1.csv.tar",
                            "salary/Train_rev1.csv.tar.check"]
    requests = len(server.hits)
    assert len(datasets.load_salary(nrows=10)) == 10 and len(server.hits) == requests == 2


def test_tagifai_json(server, cache, monkeypatch):
    projects = json.dumps([{"id": i, "title": f"P{i}", "description": "d", "tags": ["nlp"]} for i in range(5)]).encode()
    tags = json.dumps({"nlp": {"aliases": ["natural-language-processing"], "parents": []}}).encode()
    for name, body in (("PROJECTS", projects), ("TAGS", tags)):
        remote = getattr(datasets, f"TAGIFAI_{name}_FILE")
        url = server.serve(f"/{remote.name}", body, "encoded", kind="text/plain; charset=utf-8")
        monkeypatch.setattr(datasets, f"TAGIFAI_{name}_FILE",
                            replace(remote, urls=(url,), known_hash=f"sha256:{sha256(body)}"))
    frame, tag_table = datasets.load_tagifai()
    assert frame.shape == (5, 4) and tag_table.shape == (1, 3)
    assert tag_table["aliases"].iloc[0] == ["natural-language-processing"]
    datasets.load_tagifai()
    assert len(server.hits) == 2


def test_movielens_zip(server, cache, monkeypatch):
    ratings = "".join(f"{1 + i % 3}\t{1 + i % 2}\t{1 + i % 5}\t88125{i:04d}\n" for i in range(20)).encode()
    genres = "|".join(["0"] * 19)
    movies = f"1|Toy Story (1995)|01-Jan-1995||http://x|{genres}\n2|GoldenEye (1995)|01-Jan-1995||http://y|{genres}\n"
    body = zipped({"ml-100k/u.data": ratings, "ml-100k/u.item": movies.encode("latin-1"),
                   "ml-100k/u1.base": ratings[: len(ratings) // 2], "ml-100k/u1.test": ratings[len(ratings) // 2 :]})
    url = server.serve("/ml-100k.zip", body, kind="application/zip")
    monkeypatch.setattr(datasets, "MOVIELENS_FILE",
                        replace(datasets.MOVIELENS_FILE, urls=(url,), known_hash=f"sha256:{sha256(body)}"))
    frame, films = datasets.load_movielens()
    assert frame.shape == (20, 4) and films.shape == (2, 24) and films["title"].iloc[0] == "Toy Story (1995)"
    base, test = datasets.load_movielens_split("u1")
    assert len(base) + len(test) == 20
    assert len(server.hits) == 1


def test_mnist_idx_gz(server, cache, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (60, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(60) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(10),
    }
    md5 = {}
    for name, array in arrays.items():
        body = idx(array)
        server.serve(f"/mnist/{name}", body, kind="application/x-gzip")
        md5[name] = hashlib.md5(body).hexdigest()
    monkeypatch.setattr(datasets, "MNIST_BASES", (server.url("/gone"), server.url("/mnist")))
    monkeypatch.setattr(datasets, "MNIST_IDX_MD5", md5)
    (x_train, y_train), (x_valid, _), (x_test, y_test) = datasets.load_mnist()
    assert x_train.shape == (60, 784) and x_valid.shape == (0, 784) and x_test.shape == (10, 784)  # 50k/10k cut
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64 and y_test.tolist() == list(range(10))
    assert np.allclose(x_train[0], arrays["train-images-idx3-ubyte.gz"][0].ravel() / 256)
    datasets.load_mnist()
    assert len(server.hits) == 8  # four 404s on the first base, four files on the second, then nothing


def test_mcauley_single_and_multi_answer(server, cache, monkeypatch):
    single = gz(b"".join(
        repr({"questionType": "yes/no", "asin": f"B{i:03d}", "answerTime": "Jan 1, 2014", "unixTime": 1388563200 + i,
              "question": f"Does {i} work?", "answerType": "Y", "answer": "Yes \u00e9"}).encode() + b"\n"
        for i in range(6)))
    multi = gz(b"".join(
        repr({"asin": f"B{i:03d}", "questions": [
            {"questionType": "open-ended", "questionText": f"Q{i}", "questionTime": "May 1, 2014",
             "answers": [{"answerText": "A", "answerTime": "x", "helpful": [0, 0]}] * (i + 1)}]}).encode() + b"\n"
        for i in range(4)))
    monkeypatch.setattr(datasets, "MCAULEY_QA", (server.url("/qa"),))
    server.serve("/qa/qa_Software.json.gz", single, kind="application/x-gzip")
    server.serve("/qa/icdm/QA_Video_Games.json.gz", multi, kind="application/x-gzip")
    monkeypatch.setattr(datasets, "AMAZON_QA_SHA256", {"Software": sha256(single)})
    monkeypatch.setattr(datasets, "AMAZON_QA_MULTI_SHA256", {"Video_Games": sha256(multi)})
    questions = datasets.load_amazon_qa(["Software"])
    assert questions.shape == (6, 7) and questions["answer"].iloc[0] == "Yes \u00e9"
    assert datasets.load_amazon_qa(["Software"], nrows_per_category=2).shape == (2, 7)
    answers = datasets.load_amazon_qa_multi(["Video_Games"])
    assert answers.shape == (4, 6) and answers["answers"].map(len).sum() == 10
    datasets.load_amazon_qa_multi(["Video_Games"])
    assert len(server.hits) == 2


def test_polarity_tgz_streams_heads_and_extracts_once(server, cache, monkeypatch):
    train, test = polarity_rows(0, 400), polarity_rows(10_000, 100)
    use_polarity(monkeypatch, server, train, test)
    head = datasets.load_polarity("train", nrows=50)
    assert head.shape == (50, 3) and head["title"].iloc[0] == "Title 0"
    assert head["text"].iloc[1] == 'Text, with "quotes" 1'
    assert files(cache) == ["polarity/amazon_review_polarity_csv.tgz", "polarity/amazon_review_polarity_csv.tgz.check"]
    assert datasets.load_polarity("test", nrows=5)["title"].iloc[0] == "Title 10000"
    full = datasets.load_polarity("train")  # the whole split: extracted once, md5-checked
    assert len(full) == 400 and "polarity/train.csv.check" in files(cache)
    pd.testing.assert_frame_equal(full.head(50), head)
    pd.testing.assert_frame_equal(datasets.load_polarity("train", nrows=50), head)
    assert len(server.hits) == 1


@pytest.mark.skipif(not (MIRROR / "polarity" / "train.csv.gz").is_file(), reason="needs the offline mirror")
def test_polarity_streamed_rows_equal_the_mirror_rows(server, cache, monkeypatch):
    train = gzip.decompress((MIRROR / "polarity" / "train.csv.gz").read_bytes())
    test = gzip.decompress((MIRROR / "polarity" / "test.csv.gz").read_bytes())
    use_polarity(monkeypatch, server, train, test)
    for nrows in (1, 777, 5000):
        online = datasets.load_polarity("train", nrows=nrows)
        mirrored = pd.read_csv(MIRROR / "polarity" / "train.csv.gz", header=None, names=datasets.POLARITY_COLUMNS,
                               nrows=nrows, keep_default_na=False)
        pd.testing.assert_frame_equal(online, mirrored)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(MIRROR))
    pd.testing.assert_frame_equal(datasets.load_polarity("train", nrows=5000), online)


def test_glove_zip(server, cache, monkeypatch):
    text = glove_text(40)
    body = zipped({"glove.6B.50d.txt": text, "glove.6B.100d.txt": b"other member"})
    url = server.serve("/glove.6B.zip", body, kind="application/zip")
    md5 = f"md5:{hashlib.md5(body).hexdigest()}"
    monkeypatch.setattr(datasets, "GLOVE_FILE", replace(datasets.GLOVE_FILE, urls=(url,), known_hash=md5))
    vectors = datasets.load_glove(max_words=30)
    assert len(vectors) == 30 and vectors.vector_size == 50 and vectors.index_to_key[:2] == ["the", "king"]
    assert len(datasets.load_glove()) == 40 and len(server.hits) == 1


# --------------------------------------------------------------------------------------------
# Faults: one DataError line each, nothing bad kept, the next call with a good server succeeds
# --------------------------------------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body>Error (429): too many requests</body></html>"


@pytest.mark.parametrize(
    ("body", "behaviour", "kind", "says"),
    [
        (HTML, "normal", "text/html; charset=utf-8", "HTML page"),
        (HTML, "normal", "application/octet-stream", "not a valid Train_rev1.csv.tar"),
        (b"", "normal", "application/octet-stream", "empty file"),
        (tar({"Train_rev1.csv": SALARY}), "cut", "application/octet-stream", "not a valid Train_rev1.csv.tar"),
        (tar({"Train_rev1.csv": SALARY}), "truncate", "application/octet-stream", "broke off"),
        (tar({"Train_rev1.csv": SALARY[:100] + b"\x00garbage" + SALARY[108:]}, compress=True)[:-40] + b"x" * 40,
         "normal", "application/octet-stream", "failed its checks"),
        (tar({"Train_rev1.csv": SALARY.replace(b"Id,Title", b"Id,Titel")}), "normal", "application/octet-stream",
         "canonical header"),
        (tar({"Train_rev1.csv": b"\x00" * 50_000}), "normal", "application/octet-stream", "canonical header"),
    ],
    ids=["html-200", "html-as-binary", "empty", "cut-without-length", "truncated", "corrupt", "edited-header",
         "wrong-file"],
)
def test_bad_archive_downloads_are_never_kept(server, cache, monkeypatch, body, behaviour, kind, says):
    use_salary(monkeypatch, server, body, behaviour, kind=kind)
    message = one_line_error(DataError, datasets.load_salary, nrows=5)
    assert says in message, message
    assert files(cache) == []
    use_salary(monkeypatch, server)  # the same URL, now serving the good archive
    assert datasets.load_salary(nrows=5).shape == (5, 12)


def test_http_status_is_shown(server, cache, monkeypatch):
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, urls=(server.url("/missing"),)))
    message = one_line_error(DataNotFoundError, datasets.load_salary)
    assert "HTTP 404" in message and str(cache / "salary" / "Train_rev1.csv.tar") in message
    assert files(cache) == []


def test_rows_missing_from_the_salary_download_are_caught(server, cache, monkeypatch):
    use_salary(monkeypatch, server, tar({"Train_rev1.csv": salary_csv(150)}))
    assert len(datasets.load_salary(nrows=100)) == 100  # the header and the first rows cannot tell
    message = one_line_error(DataError, datasets.load_salary)
    assert "has 150 rows, not the canonical 300" in message and files(cache) == []
    use_salary(monkeypatch, server)
    assert len(datasets.load_salary()) == 300


def test_edited_bytes_of_a_hashed_download_fail_the_checksum(server, cache, monkeypatch):
    good = gz(repr({"asin": "B1", "question": "q", "answer": "a"}).encode() + b"\n")
    monkeypatch.setattr(datasets, "MCAULEY_QA", (server.url("/qa"),))
    monkeypatch.setattr(datasets, "AMAZON_QA_SHA256", {"Software": sha256(good)})
    server.serve("/qa/qa_Software.json.gz", gz(repr({"asin": "B1", "question": "q", "answer": "b"}).encode() + b"\n"))
    assert "failed its checks" in one_line_error(ChecksumError, datasets.load_amazon_qa, ["Software"])
    assert files(cache) == []
    server.serve("/qa/qa_Software.json.gz", good)
    assert datasets.load_amazon_qa(["Software"])["answer"].tolist() == ["a"]


def test_extracted_member_is_reverified_and_extracted_again(server, cache, monkeypatch):
    use_salary(monkeypatch, server)
    datasets.load_salary()
    member = cache / "salary" / "Train_rev1.csv"
    member.write_bytes(member.read_bytes()[: len(SALARY) // 2])  # cut in half: size differs from the sidecar
    assert len(datasets.load_salary()) == 300
    text = member.read_bytes()
    member.write_bytes(text.replace(b"Engineer 7,", b"Engineer 8,"))  # same size, new mtime: re-hashed
    assert datasets.load_salary()["Title"].iloc[7] == "Engineer 7"
    assert len(server.hits) == 1


def test_glove_member_edited_and_truncated_is_extracted_again(server, cache, monkeypatch):
    text = glove_text(40)
    body = zipped({"glove.6B.50d.txt": text})
    monkeypatch.setattr(datasets, "GLOVE_FILE", replace(datasets.GLOVE_FILE, urls=(server.serve("/g.zip", body),),
                                                        known_hash=f"md5:{hashlib.md5(body).hexdigest()}"))
    datasets.load_glove()
    member = cache / "vectors" / "glove.6B.50d.txt"
    member.write_bytes(member.read_bytes()[:5000].replace(b"king", b"kong"))
    assert len(datasets.load_glove()) == 40 and "king" in datasets.load_glove(max_words=5)
    assert len(server.hits) == 1


def test_verified_mirror_file_wins_over_an_unverified_one(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "salary").mkdir(parents=True)
    head = gz(salary_csv(20))
    (mirror / "salary" / "Train_rev1.csv.gz").write_bytes(head)
    (mirror / "salary" / "Train_rev1.csv").write_bytes(salary_csv(20).replace(b"Engineer", b"Edited"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE,
                                                         mirror_hashes={"Train_rev1.csv.gz": sha256(head)}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the verified copy is used: no warning
        assert datasets.load_salary()["Title"].iloc[0] == "Engineer 0"
    (mirror / "salary" / "Train_rev1.csv.gz").unlink()
    with pytest.warns(UserWarning, match="no recorded checksum") as caught:
        assert datasets.load_salary()["Title"].iloc[0] == "Edited 0"
    assert all("\n" not in str(w.message) for w in caught)


def test_unreadable_unverified_mirror_copy_is_one_data_error(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "salary").mkdir(parents=True)
    (mirror / "salary" / "Train_rev1.csv.gz").write_bytes(gz(salary_csv(2000))[:3000] + b"\xff" * 100)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, mirror_hashes={}))
    with pytest.warns(UserWarning):
        message = one_line_error(DataError, datasets.load_salary)
    assert "mirror's copy is damaged" in message


def test_undecodable_member_is_one_data_error_and_is_deleted(server, cache, monkeypatch):
    use_salary(monkeypatch, server, tar({"Train_rev1.csv": SALARY.replace(b"Engineer 9,", b"Engin\xe9\xff 9,")}))
    message = one_line_error(DataError, datasets.load_salary)
    assert "UnicodeDecodeError" in message and files(cache) == []
    use_salary(monkeypatch, server)
    assert len(datasets.load_salary()) == 300


def test_empty_only_copy_is_one_data_error(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "salary").mkdir(parents=True)
    (mirror / "salary" / "Train_rev1.csv").write_bytes(b"")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.warns(UserWarning):
        assert "EmptyDataError" in one_line_error(DataError, datasets.load_salary)


def test_corrupt_stream_inside_a_cached_tgz_is_one_data_error(server, cache, monkeypatch):
    train = polarity_rows(0, 3000)
    use_polarity(monkeypatch, server, train, polarity_rows(0, 5))
    datasets.load_polarity("train", nrows=5)
    archive = cache / "polarity" / "amazon_review_polarity_csv.tgz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64  # corrupt deflate data, sidecar re-hash fails
    archive.write_bytes(bytes(data))
    assert len(datasets.load_polarity("train", nrows=2000)) == 2000  # deleted and downloaded again
    assert len(server.hits) == 2


def test_corrupt_cache_with_the_server_down_says_so(server, cache, monkeypatch):
    body = json.dumps([{"id": 1, "title": "t", "description": "d", "tags": ["x"]}]).encode()
    tags = json.dumps({"x": {}}).encode()
    for name, payload in (("PROJECTS", body), ("TAGS", tags)):
        remote = getattr(datasets, f"TAGIFAI_{name}_FILE")
        monkeypatch.setattr(datasets, f"TAGIFAI_{name}_FILE", replace(
            remote, urls=(server.serve(f"/{remote.name}", payload),), known_hash=f"sha256:{sha256(payload)}"))
    datasets.load_tagifai()
    (cache / "tagifai" / "projects.json").write_bytes(body[:-5])
    del server.routes["/projects.json"]
    message = one_line_error(DataNotFoundError, datasets.load_tagifai)
    assert "cached projects.json failed its check and was deleted" in message and "HTTP 404" in message
    assert "tagifai/projects.json" not in files(cache)
    server.serve("/projects.json", body)
    assert len(datasets.load_tagifai()[0]) == 1


def test_read_only_cache_is_named(server, tmp_path, monkeypatch):
    if os.geteuid() == 0:  # root writes anywhere: a folder under /proc stands in for a read-only disk
        folder = Path("/proc/self/course-cache")
    else:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o500)
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    use_salary(monkeypatch, server)
    message = one_line_error(DataError, datasets.load_salary)
    assert "cannot write to the data cache" in message and "COURSE_DATA_DIR" in message
    assert server.hits == []


def test_trickling_server_meets_the_deadline(server, cache, monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE", "1.5")
    use_salary(monkeypatch, server, behaviour="trickle")
    start = time.monotonic()
    message = one_line_error(DataNotFoundError, datasets.load_salary)
    assert time.monotonic() - start < 4 and "timed out" in message and "COURSE_DOWNLOAD_DEADLINE" in message
    assert files(cache) == []


def test_stalled_url_costs_the_stall_timeout_then_the_fallback_is_tried(server, cache, monkeypatch):
    monkeypatch.setattr(download, "STALL_TIMEOUT", 0.5)
    stalled = server.serve("/stalled.tar", b"", "stall")
    good = server.serve("/Train_rev1.csv.tar", tar({"Train_rev1.csv": SALARY}))
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, urls=(stalled, good)))
    start = time.monotonic()
    assert len(datasets.load_salary(nrows=3)) == 3 and time.monotonic() - start < 2.5
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE", "1")  # a stalled URL cannot outlast the deadline either
    monkeypatch.setattr(download, "STALL_TIMEOUT", 30.0)
    monkeypatch.setattr(datasets, "SALARY_FILE", replace(datasets.SALARY_FILE, urls=(stalled,)))
    (cache / "salary" / "Train_rev1.csv").unlink()
    (cache / "salary" / "Train_rev1.csv.tar").unlink()
    start = time.monotonic()
    assert "timed out" in one_line_error(DataNotFoundError, datasets.load_salary)
    assert time.monotonic() - start < 2.5


def test_decompression_bomb_is_refused_before_it_expands(server, cache, monkeypatch):
    bomb = polarity_tgz(b"\n" * 30_000_000, polarity_rows(0, 5))  # 30 MB of newlines, about 30 kB gzipped
    use_polarity(monkeypatch, server, b"", b"", body=bomb, **{"train.csv": 1_000_000, "test.csv": 1_000_000})
    start = time.monotonic()
    assert "decompression bomb" in one_line_error(ChecksumError, datasets.load_polarity, "train", nrows=10)
    assert time.monotonic() - start < 2 and files(cache) == []
    folder = "amazon_review_polarity_csv/"  # a huge member before the wanted one: the stream is bounded
    hidden = tar({folder + "junk.bin": b"\0" * 30_000_000, folder + "train.csv": b"1,a,b\n"}, compress=True)
    use_polarity(monkeypatch, server, b"1,a,b\n", b"", body=hidden, **{"train.csv": 1_000_000, "test.csv": 10})
    assert "more than" in one_line_error(ChecksumError, datasets.load_polarity, "train", nrows=10)
    assert files(cache) == []


def _load_tagifai_in_child(queue) -> None:
    try:
        queue.put(len(datasets.load_tagifai()[0]))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        queue.put(repr(error))


def test_two_processes_download_once(server, cache, monkeypatch):
    body = json.dumps([{"id": i, "title": "t", "description": "d", "tags": ["x"]} for i in range(3000)]).encode()
    tags = json.dumps({"x": {}}).encode()
    for name, payload in (("PROJECTS", body), ("TAGS", tags)):
        remote = getattr(datasets, f"TAGIFAI_{name}_FILE")
        monkeypatch.setattr(datasets, f"TAGIFAI_{name}_FILE", replace(
            remote, urls=(server.serve(f"/{remote.name}", payload, "slow"),), known_hash=f"sha256:{sha256(payload)}"))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_load_tagifai_in_child, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    results = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert results == [3000, 3000]
    assert sorted(server.hits) == ["/projects.json", "/tags.json"]


def _fetch_in_child(remote) -> None:
    download.fetch(remote)


def test_sigterm_mid_download_leaves_no_temporary_file(server, cache):
    url = server.serve("/big.tar", tar({"Train_rev1.csv": SALARY}), "trickle")
    remote = replace(datasets.SALARY_FILE, urls=(url,))
    child = multiprocessing.get_context("fork").Process(target=_fetch_in_child, args=(remote,))
    child.start()
    deadline = time.monotonic() + 10
    while not files(cache) and time.monotonic() < deadline:  # the temporary file appears
        time.sleep(0.05)
    assert files(cache), "the download never started"
    os.kill(child.pid, signal.SIGTERM)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGTERM
    assert files(cache) == []


def test_a_changed_pin_re_verifies_the_cached_copy(server, cache, monkeypatch):
    good = gz(repr({"asin": "B1", "question": "q", "answer": "a"}).encode() + b"\n")
    monkeypatch.setattr(datasets, "MCAULEY_QA", (server.url("/qa"),))
    monkeypatch.setattr(datasets, "AMAZON_QA_SHA256", {"Software": sha256(good)})
    server.serve("/qa/qa_Software.json.gz", good)
    datasets.load_amazon_qa(["Software"])
    monkeypatch.setattr(datasets, "AMAZON_QA_SHA256", {"Software": "0" * 64})  # size and mtime unchanged
    message = one_line_error(ChecksumError, datasets.load_amazon_qa, ["Software"])
    assert "cached qa_Software.json.gz failed its check and was deleted" in message and files(cache) == []


def test_deadline_variable_must_be_a_number(monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(DataError, match="must be a number of seconds"):
        download.deadline_seconds()
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE", "90")
    assert download.deadline_seconds() == 90


def test_unused_socket_import_guard():
    assert socket.AF_INET  # the loopback server above binds an AF_INET socket
