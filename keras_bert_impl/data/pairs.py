"""NSP sentence pairs, as in the paper's data generator.

Follows google-research/bert `create_pretraining_data.py`: a target length
of `max_seq_length - 3` (or, with probability `short_seq_prob`, a random
shorter one), sentences of one document accumulated greedily up to it, a
random split point into A and B, B replaced with probability
`nsp_prob` by text from a different document, and the longer
segment truncated at a random end until the pair fits.

One deliberate change: the original always makes B random when the chunk
holds a single sentence, which drives the share of real continuations
below one half. Here the coin is tossed first; a "real continuation" from
a one-sentence chunk takes the next sentence of the document, or, for the
last one, splits the sentence itself at a random token. NSP labels are
then 50/50 up to sampling noise (tested).
"""

import random  # noqa: F401 (used by the docstring examples)


class SentencePairGenerator:
    """Makes `(tokens_a, tokens_b, is_random_next)` from tokenized documents.

    Pure Python on lists of token ids, seeded through the `random.Random`
    passed to each call, so a test can pin every draw.

    Args:
        max_seq_length: int. Length of `[CLS] A [SEP] B [SEP]`.
        short_seq_prob: float. Probability of a shorter random target.
            Defaults to `0.1`.
        nsp_prob: float. Probability that B is random. Defaults to
            `0.5`.

    Example:
    >>> gen = SentencePairGenerator(max_seq_length=8)
    >>> docs = [[[5, 6], [7, 8, 9]], [[10, 11], [12]]]
    >>> pairs = list(gen.pairs(docs[0], other=docs[1], rng=random.Random(0)))
    >>> all(len(a) + len(b) <= 5 for a, b, _ in pairs), len(pairs) > 0
    (True, True)
    """

    def __init__(self, max_seq_length, short_seq_prob=0.1, nsp_prob=0.5):
        if not isinstance(max_seq_length, int) or max_seq_length < 5:
            raise ValueError(
                "`max_seq_length` must be an integer >= 5 ([CLS] A [SEP] B "
                f"[SEP]). Received: max_seq_length={max_seq_length!r}"
            )
        for name, value in (
            ("short_seq_prob", short_seq_prob),
            ("nsp_prob", nsp_prob),
        ):
            if not 0 <= value <= 1:
                raise ValueError(
                    f"`{name}` must be in [0, 1]. Received: {name}={value}"
                )
        self.max_seq_length = max_seq_length
        self.short_seq_prob = short_seq_prob
        self.nsp_prob = nsp_prob

    def pairs(self, document, other, rng):
        """Yields pairs from `document` (a list of sentences of token ids).

        Args:
            document: list of lists of int. Empty sentences are ignored.
            other: a callable returning a random *different* document, or
                a fixed document (used for every random B).
            rng: `random.Random`.
        """
        document = [s for s in document if s]
        pick_other = other if callable(other) else (lambda: other)
        max_tokens = self.max_seq_length - 3
        target = max_tokens
        if rng.random() < self.short_seq_prob:
            target = rng.randint(2, max_tokens)
        chunk, length, i = [], 0, 0
        while i < len(document):
            chunk.append(document[i])
            length += len(document[i])
            if i == len(document) - 1 or length >= target:
                random_next = rng.random() < self.nsp_prob
                a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                tokens_a = [t for s in chunk[:a_end] for t in s]
                if random_next:
                    tokens_b = self._random_b(
                        pick_other(), target - len(tokens_a), rng
                    )
                    # Sentences after A go back to the pool, as originally.
                    i -= len(chunk) - a_end
                elif len(chunk) >= 2:
                    tokens_b = [t for s in chunk[a_end:] for t in s]
                elif i + 1 < len(document):
                    tokens_b = list(document[i + 1])
                    i += 1
                elif len(tokens_a) >= 2:
                    cut = rng.randint(1, len(tokens_a) - 1)
                    tokens_a, tokens_b = tokens_a[:cut], tokens_a[cut:]
                else:
                    tokens_b = []  # a one-token document: no real pair
                if tokens_a and tokens_b:
                    truncate_pair(tokens_a, tokens_b, max_tokens, rng)
                    yield tokens_a, tokens_b, random_next
                chunk, length = [], 0
            i += 1

    @staticmethod
    def _random_b(document, target_length, rng):
        document = [s for s in document if s]
        if not document:
            return []
        tokens = []
        for sentence in document[rng.randint(0, len(document) - 1) :]:
            tokens.extend(sentence)
            if len(tokens) >= target_length:
                break
        return tokens


def truncate_pair(tokens_a, tokens_b, max_tokens, rng):
    """Trims the longer list at a random end until both fit (in place).

    Example:
    >>> a, b = list(range(6)), [9, 9]
    >>> truncate_pair(a, b, 5, random.Random(0))
    >>> len(a) + len(b)
    5
    """
    while len(tokens_a) + len(tokens_b) > max_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()
