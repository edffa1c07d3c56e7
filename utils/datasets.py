"""The course datasets: one registry and one loader a dataset, each returning tidy data.

Every loader resolves its files with :func:`utils.download.fetch` (mirror, cache, verified download)
and checks the columns it returns, so a wrong or damaged file fails with one clear message.
Reading the first ``nrows`` gives the same rows from the mirror's head as from the full file.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import pickle
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .download import (
    DataError,
    RemoteFile,
    SchemaError,
    data_source,
    discard,
    fetch,
    fetch_archive,
    in_mirror,
    local_copy,
    mirror_dir,
    open_member,
    open_text,
    reading,
)

GITHUB_RAW = "https://raw.githubusercontent.com"
TAGIFAI_COMMIT = "5d5387042389cb65481110078967812f1176baea"
MCAULEY_QA = (
    "http://jmcauley.ucsd.edu/data/amazon/qa",
    "https://mcauleylab.ucsd.edu/public_datasets/data/amazon/qa",
)
MNIST_BASES = (
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
    "http://yann.lecun.com/exdb/mnist",
)

# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

SALARY_COLUMNS = [
    "Id", "Title", "FullDescription", "LocationRaw", "LocationNormalized", "ContractType",
    "ContractTime", "Company", "Category", "SalaryRaw", "SalaryNormalized", "SourceName",
]
TAGIFAI_PROJECT_COLUMNS = ["id", "title", "description", "tags"]
TAGIFAI_TAG_COLUMNS = ["tag", "aliases", "parents"]
RATING_COLUMNS = ["user", "item", "rating", "timestamp"]
MOVIELENS_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]
MOVIE_COLUMNS = ["item", "title", "release_date", "video_release_date", "imdb_url", *MOVIELENS_GENRES]
AMAZON_QA_COLUMNS = ["category", "asin", "question", "answer", "questionType", "answerType", "unixTime"]
AMAZON_QA_MULTI_COLUMNS = ["category", "asin", "questionType", "question", "questionTime", "answers"]
POLARITY_COLUMNS = ["label", "title", "text"]

# sha256 of McAuley's single-answer files as ParlAI lists them (the mirror holds 9 of them as is).
AMAZON_QA_SHA256 = {
    "Appliances": "9c613a5dfedd1071431faa29de903b1b0e592c5ac1c7861c26d8b69dfda8ac78",
    "Arts_Crafts_and_Sewing": "c9aad6d615294571c1be7ea6a88730829a68e701ca7d1168f4d6b5234c37ac65",
    "Automotive": "ca2da4b9d3afd3e6c915d69b34618bdcf9c6febadd7389f368fb51e9e1585009",
    "Baby": "acca09d58e7b5487c41de1e21f5a4c676f9aaf1b0534cbeb73c2d5a7444231a0",
    "Beauty": "e4e7d28e917fd1b0a605c85eff4c5d3e832a925ab6ed1216147b306984457b90",
    "Cell_Phones_and_Accessories": "2ca990b05fbf1282aeeaab139ca8ad005cd540c0ad198ae2558d43cb01f24b42",
    "Clothing_Shoes_and_Jewelry": "2c8e24b6d89ccc4084c694a6197d862cdfdc90224877e566dc8170c86ba38d68",
    "Electronics": "4ead1073043b6103a3a8eb738a04143f448cd3e200df074ad5071a24ad6bae95",
    "Grocery_and_Gourmet_Food": "438a9b97924098484c73d59e9f47e6bdb7898fdc94ae5fcfead0493a37443817",
    "Health_and_Personal_Care": "5f3564cf88a56fdf6913ca8e0e7e51478ef829b8faff6bec0e33f46e567bcbf6",
    "Home_and_Kitchen": "eefa1f213bb476478c40ab9c2081c7dd0925f2f1df5d3efeb43f6e5715daaeaf",
    "Industrial_and_Scientific": "9ae1e9c2db859061350559d59c44125131d8af1149d6e99f45a73687f67a6b0e",
    "Musical_Instruments": "a677605d6b6e612a485e939855f85c51a3bf1678da56c81ad5799ce1ef70d8bf",
    "Office_Products": "78e895f0df8e647d1c1a0a46f112f57adad9c49584dd48fb90e14648da790025",
    "Patio_Lawn_and_Garden": "30a7bc60b39345a818a91a87f528afd860dc479d97115c4274056219471f5222",
    "Pet_Supplies": "13a6a722f5f1c3209a0296ef87115ad2cc3ffa490b098c278596a0994484ef41",
    "Software": "54847f45ed575611bc3abc88f176491678d1f0c38cad3a15ad5462f99c30e31c",
    "Sports_and_Outdoors": "a513460612695249027345f6cb8bde35d8dca664927582f4a1c429a45e60b62d",
    "Tools_and_Home_Improvement": "fe29b60e01c9867e7f62ea416bee300cd68f6c7230ac518f94f2fb252e322bc8",
    "Toys_and_Games": "231582d4d5aa4959b6344d21ea0bf1b4872aa59645bb9e8107d1056922673dfe",
    "Video_Games": "45d626d00f393e9df0191d12e12fbdce6b6655ad14715bba2f8d9fe58fc7e1c2",
}
# The multi-answer (ICDM 2016) files: 17 categories.
AMAZON_QA_MULTI_SHA256 = {
    "Automotive": "2a8209571736a56cfef5a3029545b614b3adfae1de166c179a2488f42fac2533",
    "Beauty": "1ac51134997c86cc59380b7f1be1885010dd1dd9e0aac7a503255c4f68bda7d0",
    "Cell_Phones_and_Accessories": "818a0cad91543a508f90ed0b3db11e71c964036a77c896a41cc7aa79283f1940",
    "Clothing_Shoes_and_Jewelry": "47da83867a89fa7ab376040dc82944e74935cc81e1b86a6e3fc053a7a2dfdb32",
    "Electronics": "ab1081838b2f603708c3e6b9983a63f65512f46f1e1e0463f4437c88da0c7663",
    "Grocery_and_Gourmet_Food": "140cdacf2b9bbb27bac0c60dc8a92f1c211cead68879451fac73c5e424bc1dd2",
    "Health_and_Personal_Care": "c14dcd0bf837b3a26463de3cb2db8c3ad81bb262377ddc36610e8b674d49c833",
    "Home_and_Kitchen": "2822abbc06d24aa248c01b0a7edd982c8421c8eabaf5af421ded8eadbaf2dbfd",
    "Musical_Instruments": "e550e0f6a00db32966cb798ee6f3754cf8c16b474ae9ce3b0b8621faa45b4e15",
    "Office_Products": "1ecb9cd8e7ad0f9049b2b0c350ce7eb304a32e685472da1d7da74dd8a5cb411f",
    "Patio_Lawn_and_Garden": "f78d127dbb9499af5f87ded005747061cc44c1114edeec8cae7346e044c697d3",
    "Pet_Supplies": "c0f31cb041a6bbc7dc5f9006c41458f8d9120c949fb6f1e6fe753cec4353e0f1",
    "Sports_and_Outdoors": "521320c8162c17b361b070fe5f3fc8db4c4205508eff757f12fce284cbd555eb",
    "Tools_and_Home_Improvement": "473ba7d623b8c43d832a9d7a3440796edcb4320211ca5b7c5dab69ed56b66a50",
    "Toys_and_Games": "dbeeaef459d266f383fea2845c8c76da6737812724abfb335db6a294870b1b10",
    "Video_Games": "c54bb576b136146a3afa2a80033312b8b5ee6db721918db9875622e348a7c11c",
}
# The mirror's multi-answer Video_Games file is a re-gzip (header dated 2018-10-08) of content no one
# publishes a hash of: recorded as observed, for that copy only; downloads keep ParlAI's pin (data/README.md).
AMAZON_QA_MULTI_MIRROR_SHA256 = {
    "QA_Video_Games.json.gz": "dd0890a6aa1d2e709627c30f67f5992b2f237bcb14329019cbe974b7c0536138",
}

SALARY_ROWS = 244_768  # data rows of the canonical Train_rev1.csv
SALARY_FILE = RemoteFile(
    dataset="salary",
    name="Train_rev1.csv",
    # Kaggle needs a login; the seminar's public copies are a tar and a tar.gz on Dropbox (cached under
    # one name; tarfile reads either). No hash is published: the archive must open, hold the member
    # with the canonical header, and a full load must have SALARY_ROWS rows.
    urls=(
        "https://www.dropbox.com/s/uni730jpy90eh6f/Train_rev1.csv.tar?dl=1",
        "https://www.dropbox.com/s/5msc5ix7ndyba10/Train_rev1.csv.tar.gz?dl=1",
    ),
    archive="Train_rev1.csv.tar",
    member="Train_rev1.csv",
    member_max_bytes=700_000_000,  # the canonical CSV is about 420 MB
    member_header=",".join(SALARY_COLUMNS).encode(),
    mirror_hashes={"Train_rev1.csv.gz": "1ab0657cee52d87ce67cc8d5b5ac40229b0e42e971242fc8c152b8ca07a434f3"},
)
TAGIFAI_PROJECTS_FILE = RemoteFile(
    dataset="tagifai",
    name="projects.json",
    urls=(f"{GITHUB_RAW}/GokuMohandas/applied-ml/{TAGIFAI_COMMIT}/datasets/projects.json",),
    known_hash="sha256:f2c296efad84f33e2e39b0e3e92cd4c7112e55e6cc621d17b5c65e8e7046e365",
)
TAGIFAI_TAGS_FILE = RemoteFile(
    dataset="tagifai",
    name="tags.json",
    urls=(f"{GITHUB_RAW}/GokuMohandas/applied-ml/{TAGIFAI_COMMIT}/datasets/tags.json",),
    known_hash="sha256:bae6f4e5d4ab6b1f6f1f7a9bb5acd12e27041d55fbb6f964161c305c65d00d2c",
)
MOVIELENS_FILE = RemoteFile(
    dataset="movielens",
    name="ml-100k.zip",
    urls=("https://files.grouplens.org/datasets/movielens/ml-100k.zip",),
    known_hash="sha256:50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    # The mirror holds a faithful re-zip of the same members (MANIFEST-B).
    mirror_hashes={"ml-100k.zip": "c12930708be7ecb284508e00f0399426910aa1f86cd92e328b794896f2b54605"},
)
MNIST_PICKLE_FILE = RemoteFile(
    dataset="mnist",
    name="mnist.pkl.gz",
    # deeplearning.net is gone: online, the same split is rebuilt from the official IDX files.
    urls=(),
    mirror_hashes={"mnist.pkl.gz": "31d9d378fac1e22d453d1357ed8b931e10c470c7d356f97bfd79f5531712e1d7"},
)
MNIST_IDX_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
POLARITY_MEMBER_MD5 = {  # torchtext's published md5 of the extracted CSVs
    "train.csv": "520937107c39a2d1d1f66cd410e9ed9e",
    "test.csv": "f4c8bded2ecbde5f996b675db6228f16",
}
POLARITY_URLS = ("https://s3.amazonaws.com/fast-ai-nlp/amazon_review_polarity_csv.tgz",)
POLARITY_MEMBER_MAX_BYTES = {  # upper bounds (train.csv is about 1.6 GB, test.csv about 180 MB)
    "train.csv": 2_000_000_000,
    "test.csv": 250_000_000,
}
POLARITY_MIRROR_SHA256 = {
    "train.csv.gz": "f4f3b7dbb6bf72e073eae36b7d9d5acf2a91ec34e34ec5eba1d4cd58f94918de",
    "test.csv.gz": "cd97175571548e3ba4f24d50dd218b3b50a0b8585bd5d7da5ae6d988e9eb64c3",
}
GLOVE_FILE = RemoteFile(
    dataset="vectors",
    name="glove.6B.50d.txt",
    urls=(
        "https://nlp.stanford.edu/data/glove.6B.zip",
        "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip",
    ),
    known_hash="md5:056ea991adb4740ac6bf1b6d9b50408b",
    archive="glove.6B.zip",
    member="glove.6B.50d.txt",
    member_max_bytes=250_000_000,  # glove.6B.50d.txt is about 171 MB
    mirror_names=("glove.6B.50d.100k.txt.gz",),
    mirror_hashes={
        "glove.6B.50d.100k.txt.gz": "3cf2c2952b17e74de747f9908ca4e2b79c27e58c1201532f21c0cc8802356094"
    },
)


def amazon_qa_file(category: str, multi: bool = False) -> RemoteFile:
    """The question file of one Amazon category: single-answer, or the multi-answer ICDM set."""
    hashes = AMAZON_QA_MULTI_SHA256 if multi else AMAZON_QA_SHA256
    if category not in hashes:
        raise ValueError(f"unknown Amazon QA categories ['{category}']; choose from {sorted(hashes)}")
    name = f"QA_{category}.json.gz" if multi else f"qa_{category}.json.gz"
    folder = "icdm/" if multi else ""
    return RemoteFile(
        dataset="amazon_qa",
        name=name,
        urls=tuple(f"{base}/{folder}{name}" for base in MCAULEY_QA),
        known_hash="sha256:" + hashes[category],
        mirror_hashes=AMAZON_QA_MULTI_MIRROR_SHA256 if multi else {},
    )


def polarity_file(split: str) -> RemoteFile:
    """``train.csv`` or ``test.csv`` of Zhang et al.'s Amazon Review Polarity (fast.ai's tgz)."""
    name = f"{split}.csv"
    return RemoteFile(
        dataset="polarity",
        name=name,
        urls=POLARITY_URLS,
        archive="amazon_review_polarity_csv.tgz",  # no published hash; the members are checked
        member=f"amazon_review_polarity_csv/{name}",
        member_hash="md5:" + POLARITY_MEMBER_MD5[name],
        member_max_bytes=POLARITY_MEMBER_MAX_BYTES[name],
        mirror_hashes=POLARITY_MIRROR_SHA256,
    )


def mnist_idx_file(name: str) -> RemoteFile:
    """One official MNIST IDX file, from the mirrors torchvision uses."""
    return RemoteFile(
        dataset="mnist",
        name=name,
        urls=tuple(f"{base}/{name}" for base in MNIST_BASES),
        known_hash="md5:" + MNIST_IDX_MD5[name],
    )


@dataclass(frozen=True)
class DatasetInfo:
    """What the course uses of a dataset, for tables and documentation."""

    name: str
    description: str
    canonical_rows: int | None  # None where no exact count is published
    unit: str
    source: str
    license: str


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo("salary", "Adzuna job ads with normalised salary (Kaggle Train_rev1)", 244_768,
                    "ads", "kaggle.com/c/job-salary-prediction", "Kaggle competition terms"),
        DatasetInfo("tagifai", "Made With ML projects with multi-label tags", 2_032, "projects",
                    "github.com/GokuMohandas/applied-ml", "MIT"),
        DatasetInfo("movielens", "MovieLens 100k ratings of 1,682 films by 943 users", 100_000,
                    "ratings", "grouplens.org/datasets/movielens/100k", "research use, no redistribution"),
        DatasetInfo("mnist", "handwritten digits, 50k/10k/10k split", 70_000, "images",
                    "yann.lecun.com/exdb/mnist", "CC BY-SA 3.0"),
        DatasetInfo("amazon_qa", "Amazon product questions, single-answer set (21 files, ~1.4M)", None,
                    "questions", "jmcauley.ucsd.edu/data/amazon/qa", "research use"),
        DatasetInfo("polarity", "Amazon review polarity (Zhang et al. 2015), train split", 3_600_000,
                    "reviews", "fast.ai amazon_review_polarity_csv", "research use"),
        DatasetInfo("glove", "GloVe 6B 50-dimensional word vectors", 400_000, "words",
                    "nlp.stanford.edu/projects/glove", "PDDL 1.0"),
    ]
}

# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------


def check_columns(frame: pd.DataFrame, expected: Iterable[str], what: str) -> pd.DataFrame:
    """Return ``frame`` if it has exactly the ``expected`` columns, in order; else raise SchemaError."""
    expected = list(expected)
    actual = [str(column) for column in frame.columns]
    if actual != expected:
        missing = [column for column in expected if column not in actual]
        extra = [column for column in actual if column not in expected]
        raise SchemaError(
            f"{what} has unexpected columns (missing {missing}, unexpected {extra}); "
            "the file is probably not the course's version: delete it and fetch it again."
        )
    return frame


def load_salary(nrows: int | None = None) -> pd.DataFrame:
    """Job ads of Kaggle's Train_rev1, in file order: the first ``nrows`` (all when ``None``)."""
    path = fetch(SALARY_FILE)
    with reading(path, SALARY_FILE):
        frame = pd.read_csv(path, nrows=nrows)
    check_columns(frame, SALARY_COLUMNS, path.name)
    if nrows is None and not in_mirror(path) and len(frame) != SALARY_ROWS:
        discard(path)
        discard(path.with_name(SALARY_FILE.download_name))
        raise DataError(
            f"{path} has {len(frame):,} rows, not the canonical {SALARY_ROWS:,}; it and its archive were "
            f"deleted: the next call downloads again, or put a good {SALARY_FILE.download_name} in {path.parent}"
        )
    return frame


def load_tagifai() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Made With ML projects (id, title, description, tags) and the tag table (tag, aliases, parents)."""
    projects_path, tags_path = fetch(TAGIFAI_PROJECTS_FILE), fetch(TAGIFAI_TAGS_FILE)
    with reading(projects_path), open_text(projects_path) as handle:
        projects = pd.DataFrame(json.load(handle))
    with reading(tags_path), open_text(tags_path) as handle:
        tag_table = json.load(handle)
    if not isinstance(tag_table, dict):
        raise SchemaError(f"{tags_path.name} should map each tag to its aliases and parents")
    tags = pd.DataFrame(
        [
            {"tag": tag, "aliases": entry.get("aliases", []), "parents": entry.get("parents", [])}
            for tag, entry in tag_table.items()
        ],
        columns=TAGIFAI_TAG_COLUMNS,
    )
    return check_columns(projects, TAGIFAI_PROJECT_COLUMNS, projects_path.name), tags


def _movielens_member(member: str) -> bytes:
    path = fetch(MOVIELENS_FILE)
    with reading(path), zipfile.ZipFile(path) as archive:
        return archive.read(f"ml-100k/{member}")


def _read_ratings(member: str) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(_movielens_member(member)), sep="\t", names=RATING_COLUMNS)
    return check_columns(frame, RATING_COLUMNS, member)


def load_movielens() -> tuple[pd.DataFrame, pd.DataFrame]:
    """MovieLens 100k: ratings (user, item, rating, timestamp) and movies (item, title, ..., genres)."""
    ratings = _read_ratings("u.data")
    movies = pd.read_csv(
        io.BytesIO(_movielens_member("u.item")), sep="|", names=MOVIE_COLUMNS, encoding="latin-1"
    )
    return ratings, check_columns(movies, MOVIE_COLUMNS, "u.item")


def load_movielens_split(fold: str = "u1") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One of GroupLens' official splits (``u1``..``u5``, ``ua``, ``ub``): (base, test) ratings."""
    return _read_ratings(f"{fold}.base"), _read_ratings(f"{fold}.test")


class MnistSplits(NamedTuple):
    """MNIST as (images, labels) pairs; images are float32 in [0, 1), shape (n, 784)."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def _read_idx(path) -> np.ndarray:
    with reading(path), gzip.open(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DataError(f"{path} is not an IDX file; delete it and fetch it again")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist() -> MnistSplits:
    """The classic 50k/10k/10k MNIST split (deeplearning.net's ``mnist.pkl.gz`` layout).

    From the mirror: the pickle, unpickled only after its sha256 passes. Online: the official IDX
    files (md5-checked), split the same way: train = first 50,000 training images, valid = last
    10,000, test = the 10,000 test images; pixels are ``uint8 / 256``.
    """
    mirror = mirror_dir()
    if mirror is not None and (mirror / "mnist" / MNIST_PICKLE_FILE.name).is_file():
        path = fetch(MNIST_PICKLE_FILE)
        with reading(path), gzip.open(path, "rb") as handle:
            train, valid, test = pickle.load(handle, encoding="latin-1")
    else:
        arrays = {name: _read_idx(fetch(mnist_idx_file(name))) for name in MNIST_IDX_MD5}
        images = arrays["train-images-idx3-ubyte.gz"].reshape(-1, 784).astype(np.float32) / 256
        labels = arrays["train-labels-idx1-ubyte.gz"].astype(np.int64)
        test_images = arrays["t10k-images-idx3-ubyte.gz"].reshape(-1, 784).astype(np.float32) / 256
        test_labels = arrays["t10k-labels-idx1-ubyte.gz"].astype(np.int64)
        train, valid = (images[:50_000], labels[:50_000]), (images[50_000:], labels[50_000:])
        test = (test_images, test_labels)
    splits = MnistSplits(tuple(train), tuple(valid), tuple(test))
    for split_name, (x, y) in splits._asdict().items():
        if x.ndim != 2 or x.shape[1] != 784 or len(x) != len(y):
            raise SchemaError(f"MNIST {split_name} has shape {x.shape} / {y.shape}, expected (n, 784) / (n,)")
    return splits


def amazon_qa_categories(multi: bool = False) -> list[str]:
    """Categories whose question files can be had: those in the mirror if one is set, else all."""
    table = AMAZON_QA_MULTI_SHA256 if multi else AMAZON_QA_SHA256
    prefix = "QA_" if multi else "qa_"
    mirror = mirror_dir()
    if mirror is None:
        return sorted(table)
    return sorted(c for c in table if (mirror / "amazon_qa" / f"{prefix}{c}.json.gz").is_file())


def _literal_lines(path, nrows: int | None) -> Iterable[dict]:
    """McAuley's files hold one Python dict literal a line: parse with ast, never eval."""
    with reading(path), open_text(path) as handle:
        for index, line in enumerate(handle):
            if nrows is not None and index >= nrows:
                break
            yield ast.literal_eval(line)


def load_amazon_qa(
    categories: Iterable[str] | None = None, nrows_per_category: int | None = None
) -> pd.DataFrame:
    """Single-answer Amazon questions, one row each, labelled by ``category`` (file order kept)."""
    chosen = list(categories) if categories is not None else amazon_qa_categories()
    files = {category: amazon_qa_file(category) for category in chosen}  # unknown names fail here
    frames = []
    for category, remote in files.items():
        records = list(_literal_lines(fetch(remote), nrows_per_category))
        frame = pd.DataFrame.from_records(records, columns=AMAZON_QA_COLUMNS[1:])
        frame.insert(0, "category", category)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame["unixTime"] = frame["unixTime"].astype("Int64")
    return check_columns(frame, AMAZON_QA_COLUMNS, "Amazon QA")


def load_amazon_qa_multi(categories: Iterable[str] | None = None) -> pd.DataFrame:
    """Multi-answer Amazon questions (ICDM set), one row a question with its list of ``answers``."""
    chosen = list(categories) if categories is not None else amazon_qa_categories(multi=True)
    files = {category: amazon_qa_file(category, multi=True) for category in chosen}
    rows = []
    for category, remote in files.items():
        for product in _literal_lines(fetch(remote), None):
            for question in product["questions"]:
                rows.append(
                    {
                        "category": category,
                        "asin": product["asin"],
                        "questionType": question.get("questionType"),
                        "question": question["questionText"],
                        "questionTime": question.get("questionTime"),
                        "answers": [answer["answerText"] for answer in question.get("answers", [])],
                    }
                )
    frame = pd.DataFrame(rows, columns=AMAZON_QA_MULTI_COLUMNS)
    return check_columns(frame, AMAZON_QA_MULTI_COLUMNS, "Amazon QA multi")


def load_polarity(split: str = "train", nrows: int | None = None) -> pd.DataFrame:
    """Amazon Review Polarity rows (label 1 = negative, 2 = positive; title; text), in file order."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    remote = polarity_file(split)
    options = {"header": None, "names": POLARITY_COLUMNS, "nrows": nrows, "keep_default_na": False}
    path = local_copy(remote)  # the mirror's head, or the member extracted earlier
    if path is None and nrows is not None:  # stream the first rows out of the tgz: nothing extracted
        archive = fetch_archive(remote)
        with reading(archive, remote), open_member(remote, archive) as source:
            frame = pd.read_csv(source, **options)
        path = archive
    else:
        path = path or fetch(remote)  # the whole split: extracted once, its md5 checked then
        with reading(path, remote):
            frame = pd.read_csv(path, **options)
    check_columns(frame, POLARITY_COLUMNS, path.name)
    if not frame["label"].isin([1, 2]).all():
        raise SchemaError(f"{path.name}: labels must be 1 (negative) or 2 (positive)")
    return frame


def load_glove(max_words: int | None = None):
    """GloVe 6B 50d as gensim ``KeyedVectors``: the ``max_words`` most frequent words (all if None)."""
    from gensim.models import KeyedVectors

    path = fetch(GLOVE_FILE)
    with reading(path, GLOVE_FILE):
        with open_text(path) as handle:
            first = handle.readline().split(" ")
        if len(first) != 51:
            raise SchemaError(f"{path.name}: expected a word and 50 numbers a line, got {len(first)} fields")
        return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True, limit=max_words)


__all__ = [
    "DATASETS", "DatasetInfo", "MnistSplits", "amazon_qa_categories", "check_columns", "data_source",
    "load_amazon_qa", "load_amazon_qa_multi", "load_glove", "load_mnist", "load_movielens",
    "load_movielens_split", "load_polarity", "load_salary", "load_tagifai",
]
