"""Shared helpers of the applied deep-learning course: data, reproducibility, results."""

from .datasets import (
    DATASETS,
    amazon_qa_categories,
    load_amazon_qa,
    load_amazon_qa_multi,
    load_glove,
    load_mnist,
    load_movielens,
    load_movielens_split,
    load_polarity,
    load_salary,
    load_tagifai,
)
from .fetch import ChecksumError, DataError, DataNotFoundError, SchemaError, data_source, fetch
from .reproducibility import get_device, seed_everything
from .results import record_results, results_table
from .training import History, evaluate, fit, plot_history, predict

__all__ = [
    "DATASETS", "ChecksumError", "DataError", "DataNotFoundError", "History", "SchemaError",
    "amazon_qa_categories", "data_source", "evaluate", "fetch", "fit", "get_device", "load_amazon_qa",
    "load_amazon_qa_multi", "load_glove", "load_mnist", "load_movielens", "load_movielens_split",
    "load_polarity", "load_salary", "load_tagifai", "plot_history", "predict", "record_results",
    "results_table", "seed_everything",
]
