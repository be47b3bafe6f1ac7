"""`BertTokenizer`: BERT's BasicTokenizer + WordPiece as TensorFlow ops.

BERT: Devlin et al. 2018, arXiv 1810.04805. The semantics are those of
Google's `tokenization.py` as implemented by Hugging Face `tokenizers`
(`BertNormalizer` + `BertPreTokenizer` + `WordPiece`), which the test suite
checks id for id on real corpora.

Pipeline (every step a TensorFlow or tensorflow-text op, so it runs in
`tf.data` and inside a SavedModel):

1. invalid UTF-8 bytes become U+FFFD (`unicode_transcode` when not
   lower-casing; `tf.strings.lower` does it in step 4);
2. if stripping accents: NFD (`normalize_utf8`);
3. one `regex_replace` drops NUL, U+FFFD and the control, format and
   private use characters (Cc, Cf, Co; tab, LF and CR are whitespace) and,
   if stripping accents, the nonspacing marks (Mn); the character classes
   are the reference's own (`char_classes.py`), codepoint for codepoint;
4. if lower-casing: `tf.strings.lower` (ICU full lower-case mapping; a
   capital sigma is mapped to `σ` first, as the reference does not apply
   the final-sigma rule), then U+FFFD from invalid bytes is dropped;
5. `FastWordpieceTokenizer` splits on whitespace, punctuation (ASCII
   non-alphanumerics and Unicode P*) and the CJK ideograph blocks, and runs
   greedy longest-match-first WordPiece with the `##` prefix;
6. a word (a piece and its `##` continuations) of more than
   `max_word_length` characters (the sum of its pieces' lengths) collapses
   to one `[UNK]`; WordPiece itself is given `4 * max_word_length` bytes,
   so the limit counts characters as the reference does, not bytes.
"""

import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_impl import run_files
from keras_bert_impl.tokenization import char_classes
from keras_bert_impl.tokenization.packing import pack_segments
from keras_bert_impl.tokenization.vocab import SPECIAL_TOKENS
from keras_bert_impl.tokenization.vocab import read_vocab
from keras_bert_impl.tokenization.vocab import validate_vocab
from keras_bert_impl.tokenization.vocab import write_vocab

# Whitespace after cleanup (the reference's `is_whitespace`, tab/LF/CR
# included), punctuation and the CJK blocks of Google's BERT: the word
# delimiters of `FastWordpieceTokenizer`, written out for RE2.
_WHITESPACE = (
    r"\t\n\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}"
    r"\x{205F}\x{3000}"
)
# RE2's `\p{P}` lags the ICU tables `FastWordpieceTokenizer` uses by a few
# Unicode versions; the punctuation ICU has and RE2 lacks is listed.
_PUNCTUATION = (
    r"!-/:-@\[-`{-~\p{P}\x{1B4E}\x{1B4F}\x{1B7F}\x{10D6E}\x{113D4}"
    r"\x{113D5}\x{113D7}\x{113D8}\x{11BE1}\x{16D6D}-\x{16D6F}\x{1E5FF}"
)
_CJK = (
    r"\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}"
    r"\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}"
    r"\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}"
)


# Every whitespace character (White_Space); the reference turns them all
# into spaces before splitting, so no token holding one can ever match.
_SPACES = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f"
    "\u3000"
)


def _matchable(vocabulary):
    """The vocabulary for WordPiece, tokens holding whitespace disabled.

    Such tokens (the bert-base-chinese vocab has a lone U+2028) would match
    at the start of a word in `FastWordpieceTokenizer`. They keep their id
    but get a private use character, which cleanup removes from any text.
    """
    return [
        f"\ue000{i}" if _SPACES.intersection(token) else token
        for i, token in enumerate(vocabulary)
    ]


class BertTokenizer(tf.Module):
    """BERT WordPiece tokenizer built from tensorflow-text ops.

    Every method takes a Python string, a list of strings, or a string
    tensor (a scalar, or a batch of shape `(batch_size,)`), eagerly, inside
    `tf.data.Dataset.map` or inside a `tf.function` (e.g. one with
    `input_signature=[tf.TensorSpec([None], tf.string)]` exported to a
    SavedModel): no `tf.py_function` is involved. The tokenizer is a
    `tf.Module`; attach it to the exported module (`module.tokenizer =
    tok`), its vocabulary is saved as constants of the graph. A process that
    loads such a SavedModel must `import tensorflow_text` first.

    Args:
        vocab: a path to `vocab.txt` or a list of tokens (index = id). Must
            hold `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]`.
        lower_case: bool. Lower-case the text. Defaults to `True`.
        strip_accents: optional bool. NFD and drop nonspacing marks.
            Defaults to `None`, meaning the value of `lower_case` (as the
            reference does).
        max_word_length: int. A word (after normalization and splitting)
            of more characters becomes one `[UNK]`. Defaults to `100`.
        suffix_indicator: str. Prefix of word-continuation pieces.
            Defaults to `"##"`.
        name: optional str. Module name.

    Example:
    >>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                      "hello", "world", "##s", "!"])
    >>> tok.tokenize(["Hello worlds!"]).to_list()
    [[5, 6, 7, 8]]
    >>> tok.detokenize([[5, 6, 7, 8]]).numpy()
    array([b'hello worlds !'], dtype=object)
    """

    def __init__(
        self,
        vocab,
        lower_case=True,
        strip_accents=None,
        max_word_length=100,
        suffix_indicator="##",
        name=None,
    ):
        if isinstance(vocab, (str, os.PathLike)):
            vocabulary = read_vocab(vocab)
        else:
            vocabulary = [str(t) for t in vocab]
            validate_vocab(vocabulary, source="the vocabulary list")
        if not 1 <= int(max_word_length) <= 999:
            raise ValueError(
                "`max_word_length` must be between 1 and 999. Received: "
                f"max_word_length={max_word_length}"
            )
        super().__init__(name=name)
        self.vocabulary = vocabulary
        self.lower_case = bool(lower_case)
        self.strip_accents = (
            None if strip_accents is None else bool(strip_accents)
        )
        self.max_word_length = int(max_word_length)
        self.suffix_indicator = suffix_indicator
        index = {token: i for i, token in enumerate(vocabulary)}
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (
            index[t] for t in SPECIAL_TOKENS
        )
        self._strip = (
            self.lower_case if strip_accents is None else self.strip_accents
        )
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=_matchable(vocabulary),
            suffix_indicator=suffix_indicator,
            # Characters, not bytes, are limited (step 5): 4 bytes a char.
            max_bytes_per_word=4 * self.max_word_length,
            token_out_type=tf.int32,
            unknown_token="[UNK]",
            no_pretokenization=False,
        )
        self._vocab_tensor = tf.constant(vocabulary)
        n = len(suffix_indicator)
        suffix_flags = [
            len(t) > n and t.startswith(suffix_indicator) for t in vocabulary
        ]
        self._is_suffix = tf.constant(suffix_flags)
        # Characters of each piece, `##` excluded; 0 for [UNK] (whole word).
        self._piece_chars = tf.constant(
            [
                0 if t == "[UNK]" else len(t) - n * bool(s)
                for t, s in zip(vocabulary, suffix_flags, strict=True)
            ],
            tf.int32,
        )
        self._is_dropped = tf.constant(
            [t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]") for t in vocabulary]
        )
        remove = char_classes.CONTROL + (
            char_classes.MARK if self._strip else ""
        )
        self._remove_pattern = f"[{remove}]"

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    # -- normalization -----------------------------------------------------

    def normalize(self, strings):
        """Cleans, strips accents and lower-cases, as configured.

        Args:
            strings: string tensor of any shape (or Python strings).

        Returns:
            string tensor of the same shape; every step maps each
            character on its own, so the result is the concatenation of
            the normalized characters.
        """
        x = tf.convert_to_tensor(strings, tf.string)
        if not self.lower_case:
            x = tf.strings.unicode_transcode(
                x, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
            )
        if self._strip:
            x = tf_text.normalize_utf8(x, "NFD")
        remove = char_classes.CONTROL + (
            char_classes.MARK if self._strip else ""
        )
        x = tf.strings.regex_replace(x, f"[{remove}]", "")
        if self.lower_case:
            # ICU lower-cases a word-final capital sigma to `ς`, the
            # reference (Rust `char::to_lowercase`) to `σ`.
            x = tf.strings.regex_replace(x, "Σ", "σ")
            x = tf.strings.lower(x, encoding="utf-8")
            # `lower` turns invalid UTF-8 bytes into U+FFFD: drop them too.
            x = tf.strings.regex_replace(x, "\ufffd", "")
        return x

    def split_words(self, strings):
        """Normalized words, split as the tokenizer splits them.

        Returns:
            tf.RaggedTensor of strings, `(batch_size, (words))` (or
            `((words),)` for a scalar input).
        """
        x = self.normalize(strings)
        delimiters = f"[{_WHITESPACE}]+|[{_PUNCTUATION}{_CJK}]"
        keep = f"[{_PUNCTUATION}{_CJK}]"
        return tf_text.regex_split(x, delimiters, keep)

    # -- tokenization --------------------------------------------------------

    def tokenize(self, strings):
        """Token ids of strings.

        Args:
            strings: string scalar or `(batch_size,)` tensor, or Python
                strings.

        Returns:
            int32 `tf.RaggedTensor` `(batch_size, (tokens))`, or a dense
            int32 vector `(tokens,)` for a scalar input.
        """
        x = tf.convert_to_tensor(strings, tf.string)
        if x.shape.rank == 0:
            return self.tokenize(x[tf.newaxis])[0]
        return self._mark_long_words(
            self._wordpiece.tokenize(self.normalize(x))
        )

    def tokenize_words(self, strings):
        """Token ids grouped by word, for whole-word masking and NER.

        A word starts at every piece that is not a `##` continuation.

        Returns:
            int32 `tf.RaggedTensor` `(batch_size, (words), (pieces))`, or
            `((words), (pieces))` for a scalar input.
        """
        x = tf.convert_to_tensor(strings, tf.string)
        if x.shape.rank == 0:
            return self.tokenize_words(x[tf.newaxis])[0]
        ids = self.tokenize(x)
        flat = ids.flat_values
        new_word = tf.logical_not(tf.gather(self._is_suffix, flat))
        starts = tf.where(new_word)[:, 0]
        word_splits = tf.concat([starts, tf.shape(flat, tf.int64)[:1]], 0)
        words = tf.RaggedTensor.from_row_splits(
            flat, word_splits, validate=False
        )
        # Words per string: the word starts among each string's tokens.
        words_per_row = tf.math.unsorted_segment_sum(
            tf.cast(new_word, tf.int64),
            ids.value_rowids(),
            ids.nrows(),
        )
        return tf.RaggedTensor.from_row_lengths(
            words, words_per_row, validate=False
        )

    def tokenize_with_offsets(self, strings):
        """Token ids with the characters of the original text they cover.

        Offsets count Unicode characters (code points), like Python `str`
        indices and the reference's `Encoding.offsets`: token `i` of string
        `s` comes from `s[start[i]:end[i]]` (in TensorFlow:
        `tf.strings.substr(s, start, end - start, unit="UTF8_CHAR")`). An
        invalid UTF-8 byte counts as one character. Slower than `tokenize`
        (every character is normalized on its own to map offsets back); the
        ids are the same.

        Returns:
            `(ids, start, end)`: int32 `tf.RaggedTensor`s
            `(batch_size, (tokens))` (dense vectors for a scalar input).
        """
        x = tf.convert_to_tensor(strings, tf.string)
        scalar = x.shape.rank == 0
        if scalar:
            x = x[tf.newaxis]
        chars = tf.strings.unicode_split(
            x, "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        normalized = self.normalize(chars.flat_values)
        text = tf.strings.reduce_join(chars.with_flat_values(normalized), -1)
        ids, start, end = self._wordpiece.tokenize_with_offsets(text)
        ids, start, end = self._mark_long_words(ids, start, end)
        # Normalized byte range of every character, and of every row, made
        # global (one increasing axis over the batch) for one searchsorted.
        char_bytes = tf.strings.length(normalized)
        char_end = tf.cumsum(tf.cast(char_bytes, tf.int64))
        text_bytes = tf.cast(tf.strings.length(text), tf.int64)
        row_base = tf.concat([[0], tf.cumsum(text_bytes)], 0)
        token_row = ids.value_rowids()
        base = tf.gather(row_base, token_row)
        g_start = tf.cast(start.flat_values, tf.int64) + base
        g_end = tf.cast(end.flat_values, tf.int64) + base
        # First character whose normalized bytes end after the token start,
        # last character whose normalized bytes start before the token end.
        first = tf.searchsorted(
            char_end, g_start, side="right", out_type=tf.int64
        )
        last = tf.searchsorted(
            char_end, g_end - 1, side="right", out_type=tf.int64
        )
        char_base = tf.gather(chars.row_splits, token_row)
        char_base = tf.cast(char_base, tf.int64)
        start_chars = tf.cast(first - char_base, tf.int32)
        end_chars = tf.cast(last + 1 - char_base, tf.int32)
        start = ids.with_flat_values(start_chars)
        end = ids.with_flat_values(end_chars)
        if scalar:
            return ids[0], start[0], end[0]
        return ids, start, end

    def _mark_long_words(self, ids, start=None, end=None):
        """Collapses each word of more than `max_word_length` chars to [UNK].

        A word is a piece and its `##` continuations; its length is the sum
        of its pieces' lengths (an `[UNK]` word is left as it is). Returns
        `ids` (and `start`, `end` when given, the end of a collapsed word
        being its last piece's end).
        """
        flat = ids.flat_values
        new_word = tf.logical_not(tf.gather(self._is_suffix, flat))
        word = tf.cumsum(tf.cast(new_word, tf.int32)) - 1
        chars = tf.math.segment_sum(tf.gather(self._piece_chars, flat), word)
        long_word = chars > self.max_word_length
        values = [flat] if start is None else [flat, start.values, end.values]

        def collapse():
            token_long = tf.gather(long_word, word)
            keep = tf.logical_or(tf.logical_not(token_long), new_word)
            out = [tf.where(token_long, self.unk_id, flat)]
            if start is not None:
                word_end = tf.gather(
                    tf.math.segment_max(end.values, word), word
                )
                out += [
                    start.values,
                    tf.where(token_long, word_end, end.values),
                ]
            kept = tf.ragged.boolean_mask(ids, ids.with_flat_values(keep))
            return [tf.boolean_mask(v, keep) for v in out] + [kept.row_splits]

        *values, splits = tf.cond(
            tf.reduce_any(long_word),
            collapse,
            lambda: [*values, ids.row_splits],
        )
        out = tuple(
            tf.RaggedTensor.from_row_splits(v, splits, validate=False)
            for v in values
        )
        return out[0] if start is None else out

    def detokenize(self, ids):
        """Joins token ids back into text.

        Pieces are looked up in the vocabulary; `##` continuations are glued
        to the previous piece and words are joined by one space. `[PAD]`,
        `[CLS]`, `[SEP]` and `[MASK]` are dropped, `[UNK]` is kept. The text
        is the normalized one (lower-cased, accents stripped, punctuation
        separated by spaces): tokenization does not keep the original.

        Args:
            ids: int tensor `(batch_size, (tokens))` (ragged or dense) or a
                vector `(tokens,)`.

        Returns:
            string tensor `(batch_size,)`, or a scalar for a vector input.
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
            if ids.shape.rank == 1:
                return self.detokenize(ids[tf.newaxis])[0]
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        keep = tf.logical_not(tf.gather(self._is_dropped, ids.flat_values))
        ids = tf.ragged.boolean_mask(ids, ids.with_flat_values(keep))
        flat = ids.flat_values
        tokens = tf.gather(self._vocab_tensor, flat)
        n = len(self.suffix_indicator)
        lengths = tf.strings.length(tokens)
        pieces = tf.where(
            tf.gather(self._is_suffix, flat),
            tf.strings.substr(tokens, tf.minimum(n, lengths), lengths),
            tf.strings.join([" ", tokens]),
        )
        text = tf.strings.reduce_join(ids.with_flat_values(pieces), -1)
        return tf.strings.regex_replace(text, "^ ", "", replace_global=False)

    # -- model inputs --------------------------------------------------------

    def encode(self, texts, pairs=None, max_length=128):
        """Packs `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` model inputs.

        When the pieces do not fit, the longer segment is cut first, one
        piece at a time (Google BERT's `_truncate_seq_pair`; with equal
        lengths the second segment loses the piece, so an odd budget leaves
        the first segment one piece longer).

        Args:
            texts: strings, as for `tokenize`.
            pairs: optional strings of the same shape: segment B.
            max_length: int. Output length, special tokens included.

        Returns:
            dict of int32 tensors `(batch_size, max_length)` (or
            `(max_length,)` for scalar inputs): `token_ids`, `segment_ids`
            (0 for `[CLS]`, A and the first `[SEP]`, 1 after) and
            `padding_mask` (1 = real token, 0 = padding).
        """
        num_special = 2 if pairs is None else 3
        if int(max_length) <= num_special:
            raise ValueError(
                f"`max_length` must exceed the {num_special} special tokens. "
                f"Received: max_length={max_length}"
            )
        texts = tf.convert_to_tensor(texts, tf.string)
        scalar = texts.shape.rank == 0
        if scalar:
            texts = texts[tf.newaxis]
            if pairs is not None:
                pairs = tf.convert_to_tensor(pairs, tf.string)[tf.newaxis]
        segments = [self.tokenize(texts)]
        if pairs is not None:
            pairs = tf.convert_to_tensor(pairs, tf.string)
            static = (texts.shape[:1], pairs.shape[:1])
            if None not in (static[0].rank, static[1].rank) and (
                static[0][0] is not None
                and static[1][0] is not None
                and static[0][0] != static[1][0]
            ):
                raise ValueError(
                    "`texts` and `pairs` must have the same number of "
                    "strings (one segment B per segment A). Received: "
                    f"{static[0][0]} texts and {static[1][0]} pairs"
                )
            segments.append(self.tokenize(pairs))
        out, _ = pack_segments(
            segments,
            int(max_length),
            cls_id=self.cls_id,
            sep_id=self.sep_id,
            pad_id=self.pad_id,
        )
        if scalar:
            out = {k: v[0] for k, v in out.items()}
        return out

    # -- serialization -------------------------------------------------------

    def get_config(self):
        return {
            "vocab": list(self.vocabulary),
            "lower_case": self.lower_case,
            "strip_accents": self.strip_accents,
            "max_word_length": self.max_word_length,
            "suffix_indicator": self.suffix_indicator,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, directory):
        """Writes `vocab.txt` and `tokenizer_config.json` (the settings).

        `tokenizer_config.json` is Hugging Face's file with its keys
        (`do_lower_case`, `strip_accents`, ...), so `transformers`'
        `AutoTokenizer` reads the folder as the same tokenizer.
        """
        os.makedirs(directory, exist_ok=True)
        write_vocab(
            self.vocabulary, os.path.join(directory, run_files.VOCAB_FILE)
        )
        run_files.write_tokenizer_settings(
            directory,
            lower_case=self.lower_case,
            strip_accents=self.strip_accents,
            max_word_length=self.max_word_length,
            suffix_indicator=self.suffix_indicator,
        )

    @classmethod
    def load(cls, directory, **overrides):
        """The tokenizer of a folder holding `vocab.txt` and its settings.

        The settings come from `tokenizer_config.json` (as written by
        `save` or by Hugging Face), else a Hugging Face `tokenizer.json`,
        else the first release's `tokenizer.json`; a folder holding only
        `vocab.txt` gives an uncased tokenizer (see
        `keras_bert_impl.run_files.read_tokenizer_settings`). Without a
        `vocab.txt`, the vocabulary of a Hugging Face `tokenizer.json` is
        used (what `transformers` 5 saves).

        Args:
            directory: str. The folder.
            **overrides: constructor arguments that replace the stored
                ones (e.g. `lower_case=False`).
        """
        settings = run_files.read_tokenizer_settings(directory)
        settings.pop("source")
        settings.update(overrides)
        vocab = os.path.join(directory, run_files.VOCAB_FILE)
        if not os.path.isfile(vocab):
            vocab = run_files.read_fast_tokenizer_vocab(directory) or vocab
        return cls(vocab, **settings)
