"""Text to ids: the one vocabulary of the course and its special tokens.

Every lesson uses the same special-token order: ``<pad>`` is id 0 (what ``nn.Embedding(...,
padding_idx=0)`` and zero-filled batches expect), ``<unk>`` id 1 (the default for any token outside
the vocabulary), and ``<eos>`` id 2 where a language model needs an end-of-text token.
Tokenizers differ by lesson (stemmed words, word pieces, words with their apostrophe) and stay
in the lessons, where they are taught.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
PAD_ID, UNK_ID = 0, 1


class Vocab:
    """Token <-> id, with ``<pad>`` = 0 and ``<unk>`` = 1 first (then ``<eos>`` = 2 when asked for).

    >>> vocab = Vocab.build([["b", "a", "b"], ["c"]], min_freq=1)
    >>> vocab.itos
    ['<pad>', '<unk>', 'b', 'a', 'c']
    >>> vocab.encode(["a", "zzz"])
    [3, 1]
    """

    def __init__(self, itos: Sequence[str]) -> None:
        if list(itos[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD}, {UNK}; got {list(itos[:2])}")
        if len(set(itos)) != len(itos):
            raise ValueError("a vocabulary lists each token once")
        self.itos = list(itos)
        self.stoi = {token: index for index, token in enumerate(self.itos)}

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Iterable[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        eos: bool = False,
    ) -> Vocab:
        """The tokens seen at least ``min_freq`` times, most frequent first (ties alphabetically),
        after the special tokens; at most ``max_size`` tokens in all, specials included."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        specials = [PAD, UNK, EOS] if eos else [PAD, UNK]
        kept = [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                if n >= min_freq and t not in specials]
        if max_size is not None:
            kept = kept[: max(max_size - len(specials), 0)]
        return cls(specials + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; a token outside the vocabulary becomes ``<unk>``."""
        return [self.stoi.get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``."""
        return [self.itos[int(i)] for i in ids]


__all__ = ["EOS", "PAD", "PAD_ID", "UNK", "UNK_ID", "Vocab"]
