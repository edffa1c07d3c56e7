"""An AWD-LSTM-style language model in plain PyTorch, its pre-training loop and its cache.

ULMFiT (Howard & Ruder, 2018) in three stages: pre-train a language model on a large general
corpus, fine-tune it on the target texts, then train a classifier on its encoder. The first stage
is slow, so it runs once (``make lm``, i.e. ``tools/pretrain_lm.py``) and its result is cached under
``$COURSE_DATA_DIR/models``; lesson 05 loads the cache and runs the other two stages itself.

The regularisers of AWD-LSTM (Merity et al., 2017) that matter most, all here:

* **embedding dropout**: whole rows of the embedding matrix are zeroed, so a word vanishes from
  the whole sequence, not from one position;
* **locked (variational) dropout** on the LSTMs' inputs, between layers and on the output: one
  mask per sequence, reused at every time step;
* **weight dropout** (DropConnect) on each LSTM's hidden-to-hidden matrix, the recurrence itself;
* **tied weights**: the output layer reuses the embedding matrix.

Texts become tokens with :func:`tokenize` and ids with :class:`Vocab`; the checkpoint carries both,
so a model is always used with the vocabulary it learned.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from .text import EOS, PAD, PAD_ID, UNK, Vocab

TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words (with their apostrophe: ``don't``) and symbols.

    >>> tokenize("Great value, DON'T miss it!!")
    ['great', 'value', ',', "don't", 'miss', 'it', '!', '!']
    """
    return TOKEN_PATTERN.findall(text.lower())


# The unlabeled text of pre-training: the Amazon QA files of the offline mirror (questions and
# answers) and the first polarity *train* reviews.
CORPUS = {
    "amazon_qa": ["Appliances", "Arts_Crafts_and_Sewing", "Baby", "Clothing_Shoes_and_Jewelry",
                  "Grocery_and_Gourmet_Food", "Musical_Instruments", "Pet_Supplies", "Software", "Video_Games"],
    "amazon_qa_multi": ["Video_Games"],
    "polarity_train_rows": 4_500,   # lesson 05 validates on train rows 4,500-4,999
}


@dataclass
class LMConfig:
    """Everything that determines the pre-trained model; its :meth:`fingerprint` names the cache."""

    max_vocab: int = 8_000        # the most frequent tokens kept
    min_freq: int = 3             # ... that appear at least this often
    emb_dim: int = 128            # embedding size (also the last LSTM's output size: weights are tied)
    hidden_dim: int = 320         # hidden size of the inner LSTM layers
    num_layers: int = 2
    embed_p: float = 0.05         # embedding dropout: whole words
    input_p: float = 0.15         # locked dropout on the first LSTM's input
    weight_p: float = 0.2         # DropConnect on the hidden-to-hidden weights
    hidden_p: float = 0.1         # locked dropout between LSTM layers
    output_p: float = 0.1         # locked dropout before the decoder
    bptt: int = 64                # tokens per training sequence (truncated backpropagation)
    batch_size: int = 64          # parallel streams of text
    lr: float = 5e-3              # peak learning rate of the one-cycle schedule (AdamW)
    weight_decay: float = 0.01
    steps: int = 1_500            # optimisation steps of pre-training (about half an epoch)
    max_grad_norm: float = 0.5
    seed: int = 42
    specials: tuple = (PAD, UNK, EOS)   # the vocabulary's first ids (utils.text)
    corpus: dict = field(default_factory=lambda: dict(CORPUS))   # what it reads (see pretraining_texts)

    def fingerprint(self) -> str:
        """A short hash of the whole configuration: a changed config is a different model."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all its time steps (``x``: batch, time, features)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class EmbeddingDropout(nn.Module):
    """An embedding whose rows (whole words) are dropped with probability ``p`` while training."""

    def __init__(self, embedding: nn.Embedding, p: float) -> None:
        super().__init__()
        self.embedding, self.p = embedding, p

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        weight = self.embedding.weight
        if self.training and self.p > 0:
            mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - self.p) / (1 - self.p)
            weight = weight * mask
        return F.embedding(ids, weight, self.embedding.padding_idx)


class WeightDropLSTM(nn.Module):
    """One LSTM layer with DropConnect on its hidden-to-hidden matrix ``weight_hh_l0``.

    The dropped matrix is passed to the unchanged ``nn.LSTM`` with ``torch.func.functional_call``,
    so the fast fused kernel still runs and the gradient reaches the original weights.
    """

    def __init__(self, input_size: int, hidden_size: int, weight_p: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.weight_p = weight_p

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if not self.training or self.weight_p == 0:
            return self.lstm(x, state)
        dropped = F.dropout(self.lstm.weight_hh_l0, self.weight_p, training=True)
        return functional_call(self.lstm, {"weight_hh_l0": dropped}, (x, state), strict=False)


State = list[tuple[torch.Tensor, torch.Tensor]]


class AWDLSTMEncoder(nn.Module):
    """Embedding and stacked LSTMs with AWD-LSTM's dropouts; returns every layer's outputs."""

    def __init__(self, vocab_size: int, config: LMConfig) -> None:
        super().__init__()
        # PyTorch's default N(0, 1) init, on purpose. The decoder shares this matrix, so its logits are
        # (LSTM output, |h| < 1) . (embedding row): with AWD-LSTM's uniform(-0.1, 0.1) init and Adam the
        # logits start tiny, the LSTM saturates to make them larger, and the model sticks at the unigram
        # perplexity (measured: 450 after 300 steps, against 153 with this init).
        self.embedding = nn.Embedding(vocab_size, config.emb_dim, padding_idx=PAD_ID)
        self.embedding_dropout = EmbeddingDropout(self.embedding, config.embed_p)
        sizes = [config.emb_dim] + [config.hidden_dim] * (config.num_layers - 1) + [config.emb_dim]
        self.layers = nn.ModuleList(
            WeightDropLSTM(sizes[i], sizes[i + 1], config.weight_p) for i in range(config.num_layers)
        )
        self.input_dropout = LockedDropout(config.input_p)
        self.hidden_dropout = LockedDropout(config.hidden_p)

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[list[torch.Tensor], State]:
        """``ids``: (batch, time). Returns the outputs of each layer (batch, time, size) and the new state."""
        x = self.input_dropout(self.embedding_dropout(ids))
        outputs, new_state = [], []
        for index, layer in enumerate(self.layers):
            x, layer_state = layer(x, None if state is None else state[index])
            new_state.append(layer_state)
            outputs.append(x)
            if index < len(self.layers) - 1:
                x = self.hidden_dropout(x)
        return outputs, new_state


class LanguageModel(nn.Module):
    """AWD-LSTM encoder plus a decoder tied to the embedding: next-token logits at every position."""

    def __init__(self, vocab_size: int, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = AWDLSTMEncoder(vocab_size, config)
        self.output_dropout = LockedDropout(config.output_p)
        self.decoder = nn.Linear(config.emb_dim, vocab_size)
        self.decoder.weight = self.encoder.embedding.weight     # weight tying

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        outputs, state = self.encoder(ids, state)
        return self.decoder(self.output_dropout(outputs[-1])), state


def detach(state: State) -> State:
    """Cut the graph between two consecutive chunks of text (truncated backpropagation through time)."""
    return [(h.detach(), c.detach()) for h, c in state]


def encode_corpus(texts: Iterable[str], vocab: Vocab) -> torch.Tensor:
    """All ``texts`` as one long stream of ids, each text followed by ``<eos>``."""
    eos = vocab.stoi[EOS]
    ids: list[int] = []
    for text in texts:
        ids.extend(vocab.encode(tokenize(text)))
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def stream_batches(ids: torch.Tensor, batch_size: int, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Cut the stream into ``batch_size`` parallel rows and yield consecutive (input, next-token) chunks.

    Row ``i`` of one batch continues row ``i`` of the previous one, so the hidden state can be carried
    over from batch to batch.
    """
    length = (len(ids) - 1) // batch_size
    inputs = ids[: length * batch_size].view(batch_size, length)
    targets = ids[1 : length * batch_size + 1].view(batch_size, length)
    for start in range(0, length - 1, bptt):
        end = min(start + bptt, length)
        yield inputs[:, start:end], targets[:, start:end]


def train_lm(
    model: LanguageModel,
    ids: torch.Tensor,
    steps: int,
    lr: float,
    batch_size: int,
    bptt: int,
    weight_decay: float = 0.01,
    max_grad_norm: float = 0.5,
    param_groups: list[dict] | None = None,
    progress: bool = True,
    desc: str = "language model",
) -> list[float]:
    """Train ``model`` on the id stream for ``steps`` steps (epochs repeat as needed); return the losses.

    AdamW with a one-cycle schedule (warm-up then cosine decay) and gradient clipping. Pass
    ``param_groups`` (each with its own ``lr``) for discriminative learning rates; ``lr`` then
    scales nothing and each group's ``lr`` is its peak.
    """
    groups = param_groups or [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr}]
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.25
    )
    model.train()
    losses: list[float] = []
    bar = tqdm(total=steps, desc=desc, unit="step", disable=not progress)
    while len(losses) < steps:
        state = None
        for x, y in stream_batches(ids, batch_size, bptt):
            logits, state = model(x, state)
            state = detach(state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.update(1)
            if len(losses) % 20 == 0:
                bar.set_postfix(loss=f"{sum(losses[-100:]) / len(losses[-100:]):.3f}", refresh=False)
            if len(losses) >= steps:
                break
    bar.close()
    return losses


@torch.no_grad()
def perplexity(model: LanguageModel, ids: torch.Tensor, batch_size: int = 32, bptt: int = 64) -> float:
    """exp(mean cross-entropy) of the next token over the whole id stream, dropouts off."""
    model.eval()
    total, count, state = 0.0, 0, None
    for x, y in stream_batches(ids, batch_size, bptt):
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    return math.exp(total / max(count, 1))


@torch.no_grad()
def generate(
    model: LanguageModel, vocab: Vocab, prompt: str, n_tokens: int = 30, temperature: float = 0.8,
    generator: torch.Generator | None = None,
) -> str:
    """Continue ``prompt`` by sampling ``n_tokens`` tokens (never ``<unk>``); stop at ``<eos>``."""
    model.eval()
    ids = vocab.encode(tokenize(prompt))
    logits, state = model(torch.tensor([ids]))
    words = []
    for _ in range(n_tokens):
        scores = logits[0, -1] / temperature
        scores[vocab.stoi[UNK]] = -math.inf
        next_id = int(torch.multinomial(F.softmax(scores, dim=-1), 1, generator=generator))
        if next_id == vocab.stoi[EOS]:
            break
        words.append(vocab.itos[next_id])
        logits, state = model(torch.tensor([[next_id]]), state)
    return prompt + " " + " ".join(words)


def review_text(title: str, text: str) -> str:
    """One polarity review as one text: its title, then its body."""
    return f"{title}. {text}"


def pretraining_texts(corpus: dict | None = None, seed: int = 42) -> list[str]:
    """The unlabeled Amazon text of ``corpus`` (default :data:`CORPUS`), shuffled: every question and
    answer of its Amazon QA files and its first polarity *train* reviews.

    Never the polarity test rows: the classifiers are scored on them.
    """
    from .datasets import load_amazon_qa, load_amazon_qa_multi, load_polarity

    corpus = corpus or CORPUS
    qa = load_amazon_qa(corpus["amazon_qa"])
    multi = load_amazon_qa_multi(corpus["amazon_qa_multi"])
    reviews = load_polarity("train", nrows=corpus["polarity_train_rows"])
    texts = (qa["question"].tolist() + qa["answer"].tolist() + multi["question"].tolist()
             + [answer for answers in multi["answers"] for answer in answers]
             + [review_text(t, x) for t, x in zip(reviews["title"], reviews["text"])])
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed)).tolist()
    return [texts[i] for i in order]


def default_lm_path() -> Path:
    """Where ``make lm`` caches the pre-trained model: ``<data cache>/models/awd_lstm_amazon.pt``."""
    from .download import cache_dir

    return cache_dir() / "models" / "awd_lstm_amazon.pt"


class StaleCheckpointError(RuntimeError):
    """The cached model was made with another configuration (or is damaged): rebuild it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_lm(path: Path, model: LanguageModel, vocab: Vocab, config: LMConfig, info: dict | None = None) -> Path:
    """Write the weights and vocabulary to ``path`` and a JSON sidecar (config, fingerprint, sha256)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "itos": vocab.itos}, path)
    sidecar = {"fingerprint": config.fingerprint(), "sha256": sha256_of(path), "config": asdict(config),
               "info": info or {}}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return path


def load_lm(path: Path, config: LMConfig) -> tuple[LanguageModel, Vocab, dict]:
    """Load a checkpoint written by :func:`save_lm` for exactly ``config``.

    The sidecar's fingerprint must equal ``config.fingerprint()`` and the file's sha256 the recorded
    one *before* anything is unpickled (``weights_only=True`` as well). Raises
    :class:`StaleCheckpointError` otherwise and ``FileNotFoundError`` when there is no checkpoint.
    """
    path = Path(path)
    sidecar_path = path.with_suffix(".json")
    if not path.is_file() or not sidecar_path.is_file():
        raise FileNotFoundError(f"no cached language model at {path} (run `make lm`)")
    sidecar = json.loads(sidecar_path.read_text())
    if sidecar.get("fingerprint") != config.fingerprint():
        raise StaleCheckpointError(f"{path.name} was trained with another configuration: rebuild it (make lm)")
    if sha256_of(path) != sidecar.get("sha256"):
        raise StaleCheckpointError(f"{path.name} does not match its recorded sha256: rebuild it (make lm)")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    vocab = Vocab(checkpoint["itos"])
    model = LanguageModel(len(vocab), config)
    model.load_state_dict(checkpoint["state_dict"])
    return model, vocab, sidecar.get("info", {})


def pretrain(config: LMConfig, texts: list[str], progress: bool = True) -> tuple[LanguageModel, Vocab, dict]:
    """Build the vocabulary from ``texts`` and pre-train a fresh model on them, seeded."""
    generator_seed = config.seed
    torch.manual_seed(generator_seed)
    vocab = Vocab.build((tokenize(t) for t in texts), config.min_freq, config.max_vocab, eos=True)
    ids = encode_corpus(texts, vocab)
    model = LanguageModel(len(vocab), config)
    started = time.perf_counter()
    losses = train_lm(model, ids, config.steps, config.lr, config.batch_size, config.bptt,
                      config.weight_decay, config.max_grad_norm, progress=progress, desc="pre-training")
    info = {"tokens": len(ids), "vocab": len(vocab), "seconds": round(time.perf_counter() - started, 1),
            "tokens_seen": config.steps * config.batch_size * config.bptt,
            "final_loss": round(sum(losses[-100:]) / len(losses[-100:]), 4)}
    return model, vocab, info


def load_or_pretrain(
    path: Path, config: LMConfig, texts: Iterable[str] | None = None, progress: bool = True
) -> tuple[LanguageModel, Vocab, dict, bool]:
    """The cached model if it matches ``config``; else pre-train on ``texts`` and cache it.

    Returns ``(model, vocab, info, from_cache)``.
    """
    try:
        model, vocab, info = load_lm(path, config)
        return model, vocab, info, True
    except (FileNotFoundError, StaleCheckpointError):
        if texts is None:
            raise
    model, vocab, info = pretrain(config, list(texts), progress)
    save_lm(path, model, vocab, config, info)
    return model, vocab, info, False


__all__ = [
    "AWDLSTMEncoder", "CORPUS", "EOS", "EmbeddingDropout", "LMConfig", "LanguageModel", "LockedDropout", "PAD",
    "StaleCheckpointError", "UNK", "Vocab", "WeightDropLSTM", "default_lm_path", "encode_corpus", "generate",
    "load_lm", "load_or_pretrain", "perplexity", "pretrain", "pretraining_texts", "review_text", "save_lm",
    "stream_batches", "tokenize", "train_lm",
]
