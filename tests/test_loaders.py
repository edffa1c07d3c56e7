"""Every loader returns the documented shapes on the offline mirror (CI sets COURSE_DATA_MIRROR)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import utils

pytestmark = pytest.mark.skipif(
    not os.environ.get("COURSE_DATA_MIRROR"), reason="needs the offline mirror (COURSE_DATA_MIRROR)"
)


def test_salary_first_rows_in_canonical_order():
    ads = utils.load_salary()
    assert ads.shape == (2499, 12)
    assert ads["Id"].is_monotonic_increasing and ads["Id"].iloc[0] == 12612628
    assert ads["Title"].iloc[0] == "Engineering Systems Analyst"
    assert len(utils.load_salary(nrows=100)) == 100


def test_tagifai_projects_and_tags():
    projects, tags = utils.load_tagifai()
    assert projects.shape == (2032, 4) and tags.shape == (400, 3)
    assert projects["tags"].map(len).min() >= 1
    assert tags["aliases"].map(len).sum() == 82
    assert (tags["parents"].map(len) > 0).sum() == 201


def test_movielens_ratings_movies_and_official_split():
    ratings, movies = utils.load_movielens()
    assert ratings.shape == (100_000, 4) and movies.shape == (1682, 24)
    assert ratings["user"].nunique() == 943 and ratings["item"].nunique() == 1682
    assert round(ratings["rating"].mean(), 5) == 3.52986
    assert movies.loc[movies["item"] == 1, "title"].item() == "Toy Story (1995)"
    base, test = utils.load_movielens_split("u1")
    assert len(base) == 80_000 and len(test) == 20_000


def test_mnist_split():
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = utils.load_mnist()
    assert x_train.shape == (50_000, 784) and x_valid.shape == (10_000, 784) and x_test.shape == (10_000, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() < 1.0
    assert np.bincount(y_valid).tolist() == [991, 1064, 990, 1030, 983, 915, 967, 1090, 1009, 961]


def test_amazon_qa_single_and_multi_answer():
    assert len(utils.amazon_qa_categories()) == 9
    questions = utils.load_amazon_qa()
    assert questions.shape == (184_684, 7)
    assert questions.groupby("category").size()["Appliances"] == 9011
    few = utils.load_amazon_qa(["Software"], nrows_per_category=10)
    assert few["question"].tolist() == questions[questions["category"] == "Software"]["question"].head(10).tolist()
    multi = utils.load_amazon_qa_multi()
    assert multi.shape == (7744, 6) and multi["answers"].map(len).sum() == 28_893


def test_amazon_qa_unknown_category_is_named():
    with pytest.raises(ValueError, match="unknown Amazon QA categories \\['Shoes'\\]"):
        utils.load_amazon_qa(["Shoes"])


def test_polarity_heads():
    train, test = utils.load_polarity("train"), utils.load_polarity("test")
    assert train.shape == (5000, 3) and test.shape == (6459, 3)
    assert train["label"].value_counts().to_dict() == {1: 2692, 2: 2308}
    assert train["title"].iloc[0] == "Stuning even for the non-gamer"
    assert len(utils.load_polarity("test", nrows=10)) == 10
    with pytest.raises(ValueError, match="split must be"):
        utils.load_polarity("valid")


def test_glove_vectors():
    vectors = utils.load_glove(max_words=20_000)
    assert len(vectors) == 20_000 and vectors.vector_size == 50
    assert vectors.index_to_key[0] == "the"
    assert np.allclose(vectors["king"][:3], [0.50451, 0.68607, -0.59517])
    assert "queen" in [word for word, _ in vectors.most_similar("king", topn=5)]
