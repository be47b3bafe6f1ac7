"""Extractive QA (SQuAD v1.1 / v2.0): reader, doc-stride windows, decoding.

The recipe of google-research/bert `run_squad.py`, on this package's
tokenizer:

1. `read_squad` reads the official JSON (`data → paragraphs → qas`), with
   v2.0's `is_impossible`; an answer whose `answer_start` does not point at
   its `text` in the context raises (naming the file and question id) or,
   with `bad_answers="skip"`, is dropped and counted.
2. `squad_windows` tokenizes questions and contexts (TensorFlow ops,
   `tokenize_with_offsets`, so every context token keeps its character
   span in the original context), cuts the question to `max_query_length`
   tokens and slides windows of `max_seq_length - len(question) - 3`
   context tokens over the context, `doc_stride` tokens apart:
   `[CLS] question [SEP] context window [SEP]`, segment ids 0 then 1.
   The answer's first and last tokens are the labels when both lie in the
   window, else 0 (`[CLS]`), as for unanswerable questions. Each window
   keeps its context tokens' character offsets and whether the window
   gives the token its most context (min of left and right context, the
   reference's `_check_is_max_context`).
3. `decode_squad` takes the model's `start_logits` / `end_logits` for
   every window and, per question, the `n_best_size` best starts and ends
   of every window, keeps spans of context tokens with start ≤ end, at most
   `max_answer_length` tokens and a start with max context, and answers
   with the best `start + end` score; the text is cut from the original
   context by the character offsets. For v2.0 the null score is the
   smallest `start_logits[0] + end_logits[0]` over the windows, and the
   answer is `""` when `null − best > null_score_diff_threshold`.
"""

import dataclasses
import json
import logging

import numpy as np
import tensorflow as tf

from keras_bert_impl.data.batching import shuffle_and_batch
from keras_bert_impl.paths import resolve_files

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class SquadExample:
    """One question on one context; `answers` are `(text, char_start)`."""

    qid: str
    question: str
    context: str
    answers: list
    is_impossible: bool = False
    where: str = ""

    @property
    def answer_texts(self):
        return [text for text, _ in self.answers]


def read_squad(path, bad_answers: str = "raise", require_answers: bool = True):
    """Reads an official SQuAD v1.1 / v2.0 JSON file.

    Args:
        path: the JSON file.
        bad_answers: `"raise"` (default) or `"skip"`: what to do with an
            answer whose `answer_start` does not match its text in the
            context. Skipped answers are counted and logged; a question
            left without answers (and not `is_impossible`) is skipped.
        require_answers: bool. A question with no answer that is not
            `is_impossible` raises (or is skipped with `"skip"`). `False`
            reads files to predict on (no answers given): such questions
            are kept with `answers=[]`. Defaults to `True`.

    Returns:
        list of `SquadExample`.

    Raises:
        ValueError: not SQuAD JSON, a mismatched answer (naming the file
            and question id), or no question at all.
    """
    if bad_answers not in ("raise", "skip"):
        raise ValueError(
            "`bad_answers` must be 'raise' or 'skip'. Received: "
            f"bad_answers={bad_answers!r}"
        )
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(
            f"{path}: a SQuAD file is a JSON object with a 'data' list of "
            "articles (each with 'paragraphs' → 'context' and 'qas')."
        )
    examples, skipped = [], 0
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                qid = str(qa["id"])
                where = f"{path} (question id {qid})"
                impossible = bool(qa.get("is_impossible", False))
                answers = []
                for answer in [] if impossible else qa.get("answers", []):
                    text, start = answer["text"], int(answer["answer_start"])
                    if context[start : start + len(text)] != text:
                        if bad_answers == "raise":
                            raise ValueError(
                                f"{where}: answer {text!r} is not at "
                                f"answer_start={start} (the context has "
                                f"{context[start : start + len(text)]!r} "
                                "there). Fix the offset or pass "
                                "bad_answers='skip'."
                            )
                        skipped += 1
                        continue
                    answers.append((text, start))
                given = bool(qa.get("answers"))
                if (
                    not answers
                    and not impossible
                    and (require_answers or given)
                ):
                    if bad_answers == "raise":
                        raise ValueError(
                            f"{where}: no answer and not is_impossible. "
                            "Add the answers, mark it is_impossible, or "
                            "pass require_answers=False to predict."
                        )
                    skipped += 1
                    continue
                examples.append(
                    SquadExample(
                        qid,
                        qa["question"],
                        context,
                        answers,
                        impossible,
                        where,
                    )  # fmt: skip
                )
    if skipped:
        logger.warning("%s: skipped %d bad answers", path, skipped)
    if not examples:
        raise ValueError(f"{path}: no questions. Pass a non-empty file.")
    return examples


@dataclasses.dataclass
class SquadWindows:
    """Model inputs and decoding data of every window (numpy arrays).

    `token_ids`, `segment_ids`, `padding_mask`, `start_positions`,
    `end_positions`: `(num_windows, max_seq_length)` / `(num_windows,)`
    int32. `example_index`: the `SquadExample` of each window.
    `char_start`, `char_end`: `(num_windows, max_seq_length)` character
    span in the context of each context token (-1 elsewhere).
    `max_context`: bool, this window gives the token its most context.
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    start_positions: np.ndarray
    end_positions: np.ndarray
    example_index: np.ndarray
    char_start: np.ndarray
    char_end: np.ndarray
    max_context: np.ndarray

    def __len__(self):
        return len(self.example_index)

    def features(self):
        return {
            "token_ids": self.token_ids,
            "segment_ids": self.segment_ids,
            "padding_mask": self.padding_mask,
        }


def _tokenize(tokenizer, texts, with_offsets, batch=256):
    out = []
    for i in range(0, len(texts), batch):
        chunk = tf.constant(texts[i : i + batch])
        if with_offsets:
            ids, start, end = tokenizer.tokenize_with_offsets(chunk)
            out.extend(
                zip(ids.to_list(), start.to_list(), end.to_list(), strict=True)
            )
        else:
            out.extend(tokenizer.tokenize(chunk).to_list())
    return out


def _spans(n, max_tokens, doc_stride):
    spans, start = [], 0
    while True:
        length = min(n - start, max_tokens)
        spans.append((start, length))
        if start + length >= n:
            return spans
        start += min(length, doc_stride)


def _max_context(spans, position):
    best, best_score = None, None
    for i, (start, length) in enumerate(spans):
        end = start + length - 1
        if not start <= position <= end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best, best_score = i, score
    return best


def squad_windows(
    examples,
    tokenizer,
    max_seq_length: int = 384,
    max_query_length: int = 64,
    doc_stride: int = 128,
) -> SquadWindows:
    """Doc-stride windows of SQuAD examples (see the module docstring)."""
    if max_query_length < 1 or doc_stride < 1:
        raise ValueError(
            "`max_query_length` and `doc_stride` must be positive. Received: "
            f"max_query_length={max_query_length}, doc_stride={doc_stride}"
        )
    if max_seq_length < max_query_length + 4:
        raise ValueError(
            "`max_seq_length` must leave room for the question and at least "
            f"one context token: >= max_query_length + 4 = "
            f"{max_query_length + 4}. Received: max_seq_length="
            f"{max_seq_length}"
        )
    if not examples:
        raise ValueError("`examples` is empty: nothing to encode.")
    contexts = sorted({e.context for e in examples})
    context_index = {c: i for i, c in enumerate(contexts)}
    context_tokens = _tokenize(tokenizer, contexts, True)
    questions = _tokenize(tokenizer, [e.question for e in examples], False)
    L = max_seq_length
    rows = {f.name: [] for f in dataclasses.fields(SquadWindows)}
    for index, (example, q) in enumerate(zip(examples, questions, strict=True)):
        q = q[:max_query_length]
        ids, starts, ends = context_tokens[context_index[example.context]]
        max_tokens = L - len(q) - 3
        spans = _spans(len(ids), max_tokens, doc_stride)
        answer = None
        if example.answers and not example.is_impossible:
            text, char_start = example.answers[0]
            char_end = char_start + len(text)
            inside = [
                i
                for i, (a, b) in enumerate(zip(starts, ends, strict=True))
                if b > char_start and a < char_end
            ]
            if inside:
                answer = (inside[0], inside[-1])
        for w, (span_start, length) in enumerate(spans):
            offset = len(q) + 2
            token_ids = np.full(L, tokenizer.pad_id, np.int32)
            segment_ids = np.zeros(L, np.int32)
            mask = np.zeros(L, np.int32)
            c_start = np.full(L, -1, np.int32)
            c_end = np.full(L, -1, np.int32)
            best = np.zeros(L, bool)
            n = offset + length + 1
            token_ids[:n] = (
                [tokenizer.cls_id, *q, tokenizer.sep_id]
                + ids[span_start : span_start + length]
                + [tokenizer.sep_id]
            )
            segment_ids[offset:n] = 1
            mask[:n] = 1
            c_start[offset : offset + length] = starts[
                span_start : span_start + length
            ]
            c_end[offset : offset + length] = ends[
                span_start : span_start + length
            ]
            for k in range(length):
                best[offset + k] = _max_context(spans, span_start + k) == w
            start_position = end_position = 0
            if answer is not None:
                a, b = answer
                if span_start <= a and b < span_start + length:
                    start_position = a - span_start + offset
                    end_position = b - span_start + offset
            for name, value in (
                ("token_ids", token_ids),
                ("segment_ids", segment_ids),
                ("padding_mask", mask),
                ("start_positions", start_position),
                ("end_positions", end_position),
                ("example_index", index),
                ("char_start", c_start),
                ("char_end", c_end),
                ("max_context", best),
            ):
                rows[name].append(value)
    return SquadWindows(
        **{
            name: np.asarray(
                values, bool if name == "max_context" else np.int32
            )
            for name, values in rows.items()
        }
    )


def squad_dataset(
    examples,
    tokenizer,
    max_seq_length: int = 384,
    max_query_length: int = 64,
    doc_stride: int = 128,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
    bad_answers: str = "raise",
    require_answers: bool = True,
) -> tf.data.Dataset:
    """`(features, {"start_logits", "end_logits"})` batches of windows.

    Args:
        examples: a list of `SquadExample` or the path of a SQuAD JSON.
        tokenizer: a `BertTokenizer`.
        max_seq_length, max_query_length, doc_stride: windowing, the
            reference's defaults `384`, `64`, `128`.
        batch_size, shuffle, seed, drop_remainder: as for
            `classification_dataset`.
        bad_answers, require_answers: for a path, see `read_squad`.

    Returns:
        A `tf.data.Dataset` of windows (one or more per question) with
        attributes `examples` (the `SquadExample`s), `windows` (the
        `SquadWindows`, in dataset order when not shuffled, for
        `decode_squad`) and `num_examples` (windows).
    """

    if not isinstance(examples, list | tuple):
        examples = read_squad(examples, bad_answers, require_answers)
    windows = squad_windows(
        examples, tokenizer, max_seq_length, max_query_length, doc_stride
    )
    labels = {
        "start_logits": windows.start_positions,
        "end_logits": windows.end_positions,
    }
    ds = tf.data.Dataset.from_tensor_slices((windows.features(), labels))
    ds = shuffle_and_batch(
        ds, len(windows), batch_size, shuffle, seed, drop_remainder
    )
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.examples = list(examples)
    ds.windows = windows
    ds.num_examples = len(windows)
    return ds


def squad_files_dataset(
    files,
    tokenizer,
    max_seq_length: int = 384,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    *,
    max_query_length: int = 64,
    doc_stride: int = 128,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """`squad_dataset` of the one SQuAD JSON file `files` names.

    Raises:
        ValueError: `files` matches no file or several.
    """
    found = resolve_files(files)
    if len(found) != 1:
        raise ValueError(
            "SQuAD data is one JSON file per --train / --eval. Received: "
            f"{len(found)} files ({', '.join(found[:3])})"
        )
    return squad_dataset(
        found[0], tokenizer, max_seq_length, max_query_length, doc_stride,
        batch_size, shuffle, seed, drop_remainder,
        require_answers=True,
    )  # fmt: skip


def decode_squad(
    examples,
    windows: SquadWindows,
    start_logits,
    end_logits,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    version_2: bool | None = None,
    null_score_diff_threshold: float = 0.0,
):
    """Answers from the start / end logits of every window.

    Args:
        examples: the `SquadExample`s the windows were built from.
        windows: their `SquadWindows`.
        start_logits, end_logits: float arrays `(num_windows,
            max_seq_length)`, in window order.
        n_best_size: int. Starts and ends considered per window, and
            candidates kept per question. Defaults to `20`.
        max_answer_length: int. Longest answer in tokens. Defaults to `30`.
        version_2: bool. Allow "no answer". Defaults to `None`: true when
            some example `is_impossible`.
        null_score_diff_threshold: float. v2.0: answer `""` when the null
            score exceeds the best span's score by more than this.
            Defaults to `0.0`.

    Returns:
        `(predictions, nbest)`: dict question id → answer text (`""` = no
        answer) and dict question id → list of `(text, score)`, best first.
    """
    start_logits = np.asarray(start_logits, np.float32)
    end_logits = np.asarray(end_logits, np.float32)
    if start_logits.shape != windows.token_ids.shape or (
        end_logits.shape != start_logits.shape
    ):
        raise ValueError(
            "`start_logits` and `end_logits` must be (num_windows, "
            f"max_seq_length) = {windows.token_ids.shape}. Received: "
            f"{start_logits.shape} and {end_logits.shape}"
        )
    if version_2 is None:
        version_2 = any(e.is_impossible for e in examples)
    by_example = {}
    for w, index in enumerate(windows.example_index):
        by_example.setdefault(int(index), []).append(w)
    predictions, nbest = {}, {}
    for index, example in enumerate(examples):
        candidates = {}
        null_score = None
        for w in by_example.get(index, []):
            s_log, e_log = start_logits[w], end_logits[w]
            null = float(s_log[0] + e_log[0])
            null_score = null if null_score is None else min(null_score, null)
            starts = np.argsort(-s_log, kind="stable")[:n_best_size]
            ends = np.argsort(-e_log, kind="stable")[:n_best_size]
            c_start, c_end = windows.char_start[w], windows.char_end[w]
            for s in starts:
                if c_start[s] < 0 or not windows.max_context[w, s]:
                    continue
                for e in ends:
                    if c_start[e] < 0 or e < s or e - s + 1 > max_answer_length:
                        continue
                    text = example.context[c_start[s] : c_end[e]]
                    score = float(s_log[s] + e_log[e])
                    if score > candidates.get(text, -np.inf):
                        candidates[text] = score
        ranked = sorted(candidates.items(), key=lambda x: -x[1])
        ranked = ranked[:n_best_size]
        if version_2 and null_score is not None:
            ranked = sorted([*ranked, ("", null_score)], key=lambda x: -x[1])[
                :n_best_size
            ]
        best = next(((t, s) for t, s in ranked if t), None)
        if best is None:
            answer = ""
        elif version_2 and null_score - best[1] > null_score_diff_threshold:
            answer = ""
        else:
            answer = best[0]
        predictions[example.qid] = answer
        nbest[example.qid] = ranked
    return predictions, nbest
