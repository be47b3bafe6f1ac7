"""`build_vocab`: learn a WordPiece `vocab.txt` from text files.

The text is normalized and split by `BertTokenizer`'s own graph, so the
learner sees exactly the words the tokenizer will later look up; then
tensorflow-text's WordPiece learner (the one behind
`bert_vocab_from_dataset`) picks the pieces from the word counts.
"""

import os

from keras_bert_impl.paths import prepare_output
from keras_bert_impl.paths import resolve_files
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from keras_bert_impl.tokenization.vocab import SPECIAL_TOKENS
from keras_bert_impl.tokenization.vocab import write_vocab


def read_lines(path, errors="strict"):
    """Yields the lines of a text file decoded as UTF-8.

    Args:
        path: str. The file.
        errors: `"strict"` raises `ValueError` naming the file and the
            1-based line of the first invalid byte; `"replace"` decodes
            invalid bytes as U+FFFD, which the BERT cleanup then drops.
    """
    if errors not in ("strict", "replace"):
        raise ValueError(
            f"`errors` must be 'strict' or 'replace'. Received: "
            f"errors={errors!r}"
        )
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield raw.decode("utf-8", errors=errors).rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}:{number}: not valid UTF-8 (byte "
                    f"{raw[e.start : e.start + 1]!r} at column {e.start + 1}); "
                    "drop such bytes with errors='replace' (keras-bert-impl "
                    f"vocab --errors replace). Received: "
                    f"path={path!r}"
                ) from None


def build_vocab(
    files,
    vocab_size=30000,
    lower_case=True,
    output=None,
    strip_accents=None,
    errors="strict",
    batch_size=1024,
    verbose=True,
    learn_params=None,
):
    """Learns a WordPiece vocabulary from text files.

    The text is normalized and split exactly as `BertTokenizer` does
    (cleanup, CJK spacing, optional lower-casing and accent stripping,
    whitespace and punctuation split); then tensorflow-text's
    WordPiece learner (the one behind `bert_vocab_from_dataset`)
    picks the pieces from the word counts. The special tokens
    come first, `[PAD]` at id 0.

    Size: the result has exactly `vocab_size` tokens whenever the corpus
    offers that many pieces; a smaller corpus gives all the pieces the
    learner finds at its lowest count threshold (fewer tokens). Every
    character seen and its `##` form are always kept, so every learnable
    word can be tokenized. (tensorflow-text's own threshold search only
    aims at 95-100% of the size, and may miss that range on either side;
    here the count threshold is searched for a vocabulary of at least
    `vocab_size` tokens, whose least frequent pieces are then dropped.)

    Lines may be of any length (a single 1 MB line is fine). Words longer
    than the learner's `max_token_length` (50 characters by default) are
    not learned from; the tokenizer maps a word of more than
    `max_word_length` (100) characters to `[UNK]` anyway.

    Args:
        files: str, path or list of them; each may be a glob. UTF-8 text,
            one example per line; blank lines are skipped.
        vocab_size: int. Size of the vocabulary, special tokens included.
        lower_case: bool. Lower-case (and by default strip accents).
        output: optional path. Where to write `vocab.txt`.
        strip_accents: optional bool. Defaults to `lower_case`.
        errors: `"strict"` (a non-UTF-8 byte raises `ValueError` naming the
            file and line) or `"replace"` (such bytes are dropped).
        batch_size: int. Lines per batch normalized and split at once.
        verbose: bool. Show a `keras.utils.Progbar` over the input bytes.
        learn_params: optional dict forwarded to tensorflow-text's
            `wordpiece_tokenizer_learner_lib.learn`. `lower_thresh`
            (default 1, so that small corpora fill the vocabulary) and
            `upper_thresh` bound the count-threshold search; `slack_ratio`
            (default 0.05) lets the search stop at a vocabulary up to that
            fraction above `vocab_size` before trimming.

    Returns:
        list of str, the vocabulary (index = token id).

    Raises:
        ValueError: no non-blank line in `files`; lines that hold only
            characters the cleanup removes (no word at all); only words
            longer than `max_token_length`; a `vocab_size` smaller than the
            special tokens plus every character and its `##` form; a bad
            argument; or a non-UTF-8 byte with `errors="strict"`.
        FileNotFoundError: a pattern matches no file.

    Example:
    >>> import os, tempfile
    >>> corpus = os.path.join(tempfile.mkdtemp(), "corpus.txt")
    >>> with open(corpus, "w", encoding="utf-8") as f:
    ...     _ = f.write("Hello, world!\\nthe world says hello\\n" * 3)
    >>> vocab = build_vocab(corpus, vocab_size=33, verbose=False)
    >>> len(vocab), vocab[:5]
    (33, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'])
    >>> from keras_bert_impl import BertTokenizer
    >>> ids = BertTokenizer(vocab).tokenize("Hello, world!").numpy()
    >>> [vocab[i] for i in ids]
    ['hello', ',', 'world', '!']
    >>> len(build_vocab(corpus, vocab_size=100, verbose=False))  # all there is
    35
    """
    import keras
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import (
        wordpiece_tokenizer_learner_lib as learner,
    )

    vocab_size = int(vocab_size)
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(
            f"`vocab_size` must exceed the {len(SPECIAL_TOKENS)} special "
            f"tokens. Received: vocab_size={vocab_size}"
        )
    if output is not None:
        # Checked before minutes of learning, not after.
        prepare_output(output, "output")
    paths = resolve_files(files)
    total = sum(os.path.getsize(p) for p in paths)
    # Normalize and pre-split with the tokenizer's own graph, so the learner
    # sees exactly the words the tokenizer will later look up.
    # (`split_words` uses no vocabulary; WordPiece needs one real token.)
    splitter = BertTokenizer(
        [*SPECIAL_TOKENS, "a"],
        lower_case=lower_case,
        strip_accents=strip_accents,
    )
    progbar = keras.utils.Progbar(total, unit_name="byte") if verbose else None
    done = 0  # bytes read, ahead of the bar by at most one batch
    words = {}
    num_lines = 0
    for path in paths:
        end = done + os.path.getsize(path)
        batch = []
        for line in read_lines(path, errors=errors):
            # Decoded length: close to the bytes read (not for "\r\n" or
            # replaced bytes), so the bar is set exactly at each file end.
            done = min(done + len(line.encode("utf-8")) + 1, end)
            if not line.strip():
                continue
            num_lines += 1
            batch.append(line)
            if len(batch) == batch_size:
                _count_words(splitter, batch, words, tf)
                batch = []
                if progbar is not None:
                    progbar.update(done)
        if batch:
            _count_words(splitter, batch, words, tf)
        done = end
        if progbar is not None:
            progbar.update(done)
    if not num_lines:
        raise ValueError(
            f"The corpus is empty: no non-blank line in {len(paths)} "
            f"file(s). Received: files={paths!r}. Pass UTF-8 text files "
            "with one example per line."
        )
    if not words:
        raise ValueError(
            f"The corpus has no words: its {num_lines} non-blank line(s) "
            "hold only characters the BERT cleanup removes (control, "
            "format and private-use characters, U+FFFD) and whitespace. "
            f"Received: files={paths!r}. Pass text files that contain "
            "words, or check their encoding."
        )
    params = {"lower_thresh": 1, **(learn_params or {})}
    max_length = params.get("max_token_length", 50)
    if all(len(word) > max_length for word in words):
        longest = max(len(word) for word in words)
        raise ValueError(
            f"No word of the corpus is short enough to learn from: all "
            f"{len(words)} distinct word(s) are longer than "
            f"max_token_length={max_length} characters (the longest has "
            f"{longest}). Received: files={paths!r}. Separate the words "
            "with spaces, or raise learn_params['max_token_length']."
        )
    vocab = _learn(learner, words, vocab_size, params)
    if output is not None:
        write_vocab(vocab, output)
    return vocab


def _learn(learner, words, vocab_size, params):
    """Learns exactly `vocab_size` tokens, or all the corpus offers."""
    params = dict(params)
    lower = max(int(params.pop("lower_thresh") or 1), 1)
    upper = params.pop("upper_thresh", None)
    slack = params.pop("slack_ratio", 0.05)
    upper = max(words.values()) if upper is None else int(upper)
    reserved = list(SPECIAL_TOKENS)

    def learn_at(thresh):
        # lower == upper: one learning pass at exactly this threshold.
        vocab = learner.learn(
            words,
            vocab_size,
            reserved,
            upper_thresh=thresh,
            lower_thresh=thresh,
            **params,
        )
        return list(dict.fromkeys(vocab))  # the learner may repeat a token

    # The size falls as the count threshold rises. Find the highest
    # threshold that still gives >= vocab_size tokens (or stop at one whose
    # vocabulary is within the slack above), then drop the rarest pieces.
    best = learn_at(lower)
    if len(best) <= vocab_size:
        return best  # the corpus offers no more
    num_required = sum(_is_required(t) for t in best)
    if num_required > vocab_size:
        chars = sum(len(t) == 1 for t in best)
        raise ValueError(
            f"`vocab_size` is too small for this corpus: its {chars} "
            f"distinct characters need {num_required} tokens (the "
            f"{len(SPECIAL_TOKENS)} special tokens, every character and "
            f"its '##' form). Received: vocab_size={vocab_size}. Pass "
            f"vocab_size>={num_required}, or lower "
            "learn_params['max_unique_chars'] to keep only the commonest "
            "characters."
        )
    while lower < upper:
        mid = (lower + upper + 1) // 2
        vocab = learn_at(mid)
        if len(vocab) < vocab_size:
            upper = mid - 1
            continue
        lower, best = mid, vocab
        if len(vocab) <= vocab_size * (1 + slack):
            break
    return _trim(best, vocab_size)


def _is_required(token):
    """True for what trimming keeps: specials, characters, `##` characters."""
    return (
        token in SPECIAL_TOKENS
        or len(token) == 1
        or (token.startswith("##") and len(token) == 3)
    )


def _trim(vocab, vocab_size):
    """Drops the last (least frequent) multi-character pieces of `vocab`."""
    extra = len(vocab) - vocab_size
    keep = [True] * len(vocab)
    for i in range(len(vocab) - 1, -1, -1):
        if extra <= 0:
            break
        if not _is_required(vocab[i]):
            keep[i] = False
            extra -= 1
    return [t for t, k in zip(vocab, keep, strict=True) if k]


def _count_words(splitter, lines, words, tf):
    """Adds the normalized, pre-split words of `lines` to `words`."""
    for word in splitter.split_words(tf.constant(lines)).flat_values.numpy():
        word = word.decode("utf-8")
        words[word] = words.get(word, 0) + 1
