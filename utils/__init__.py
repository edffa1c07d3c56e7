"""Shared helpers of the applied deep-learning course: what two lessons would otherwise both write.

One module a concern: ``download`` (mirror, cache, verified download) and ``datasets`` (registry and
loaders); ``text`` (the vocabulary); ``training`` (the loop); ``evaluation`` (splits, intervals,
size and speed); ``models`` (pretrained MiniLM, masked pooling); ``results``; ``reproducibility``.
``utils.lessons`` is generated from the lessons' ``#@save`` cells (``make export``) and is not
imported here.
"""

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
from .download import ChecksumError, DataError, DataNotFoundError, SchemaError, data_source, fetch
from .evaluation import (
    accuracy,
    count_parameters,
    latency_ms,
    mcnemar,
    metric_ci,
    seed_interval,
    train_valid_test_split,
)
from .models import embed_texts, load_minilm, masked_max, masked_mean
from .reproducibility import get_device, seed_everything
from .results import record_results
from .text import EOS, PAD, PAD_ID, UNK, UNK_ID, Vocab
from .training import EarlyStopping, History, evaluate, fit, lr_range_test, plot_history, predict, train_epoch

__all__ = [
    "DATASETS", "EOS", "PAD", "PAD_ID", "UNK", "UNK_ID", "ChecksumError", "DataError", "DataNotFoundError",
    "EarlyStopping", "History", "SchemaError", "Vocab", "accuracy", "amazon_qa_categories", "count_parameters",
    "data_source", "embed_texts", "evaluate", "fetch", "fit", "get_device", "latency_ms", "load_amazon_qa",
    "load_amazon_qa_multi", "load_glove", "load_minilm", "load_mnist", "load_movielens", "load_movielens_split",
    "load_polarity", "load_salary", "load_tagifai", "lr_range_test", "masked_max", "masked_mean", "mcnemar",
    "metric_ci",
    "plot_history", "predict", "record_results", "seed_everything", "seed_interval", "train_epoch",
    "train_valid_test_split",
]
