"""Pre-train lesson 05's AWD-LSTM language model once and cache it (``make lm``).

    python tools/pretrain_lm.py [OUTPUT.pt] [--threads 2]

Stage one of ULMFiT: a language model learns English as Amazon shoppers write it from every
question and answer of the Amazon QA files and the polarity *train* reviews (never the test rows).
The model, its training loop and its cache are lesson 05's ``#@save`` cells, exported to
``utils.lessons`` (``make export``); the configuration is ``utils.lessons.LMConfig()``. The checkpoint's
sidecar JSON records its fingerprint, so a changed configuration is rebuilt instead of silently reused.
Seeded, with a fixed thread count: the same machine gives the same weights. About 14 minutes on a
quiet 2-core CPU (1,500 steps, half a pass over the corpus).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: far faster when other jobs share the CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from utils import lessons as lm  # noqa: E402
from utils.reproducibility import seed_everything  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=None, help="checkpoint path (default: the data cache)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (fixed, for reproducibility)")
    args = parser.parse_args(argv)
    path = args.output or lm.default_lm_path()
    config = lm.LMConfig()
    try:
        lm.load_lm(path, config)
    except (FileNotFoundError, lm.StaleCheckpointError) as reason:
        print(f"pre-training the language model: {reason}")
    else:
        path.touch()   # up to date: refresh its time so make sees it as newer than the code
        print(f"{path}: up to date (fingerprint {config.fingerprint()})")
        return 0
    seed_everything(config.seed, threads=args.threads)
    started = time.perf_counter()
    texts = lm.pretraining_texts(config.corpus, seed=config.seed)
    print(f"{len(texts):,} texts; config {config.fingerprint()}")
    model, vocab, info = lm.pretrain(config, texts)
    info["threads"] = args.threads
    info["total_seconds"] = round(time.perf_counter() - started, 1)
    lm.save_lm(path, model, vocab, config, info)
    print(f"saved {path}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
