"""Metrics and predictions of a fine-tuned model, read as training read.

`evaluate_model` scores a task model on labelled files with the task's
metric (accuracy and macro F1, Pearson / Spearman / MSE, entity-level
NER F1, SQuAD exact match / F1, multiple-choice accuracy);
`predict_texts` and `predict_file` return one JSON-friendly dict per
example. Both read inputs through the dataset factory with the run's own
`FinetuneConfig` (task, columns, sequence length), so they prepare inputs
exactly as training did; `keras-bert-impl evaluate` and `predict` print
what these return.
"""

import math
import os

import keras
import numpy as np

from keras_bert_impl import evaluation
from keras_bert_impl import run_files
from keras_bert_impl.data.choice import choice_dataset
from keras_bert_impl.data.classification import read_classification
from keras_bert_impl.data.labels import LabelMap
from keras_bert_impl.data.ner import NerSentence
from keras_bert_impl.data.ner import align_words
from keras_bert_impl.data.ner import decode_word_labels
from keras_bert_impl.data.ner import read_ner_files
from keras_bert_impl.data.ner import word_entities
from keras_bert_impl.data.squad import decode_squad
from keras_bert_impl.data.squad import read_squad
from keras_bert_impl.data.squad import squad_dataset
from keras_bert_impl.data.tables import read_records
from keras_bert_impl.paths import resolve_files
from keras_bert_impl.tasks import get_task
from keras_bert_impl.training.task_data import task_dataset


def _progress_bar(num_batches, show=True):
    """A Keras progress bar (prints nothing with `show=False`)."""
    return keras.utils.Progbar(
        num_batches, verbose=1 if show else 0, unit_name="batch"
    )


def _num_batches(ds, batch_size):
    n = int(ds.cardinality())
    return n if n >= 0 else math.ceil(ds.num_examples / batch_size)


def _label_map(model, config=None):
    """The model's label map (task models with labels hold their names)."""
    names = getattr(model, "label_names", None)
    return LabelMap(names) if names else None


def sigmoid(logits):
    """The logistic function, in float64."""
    return 1 / (1 + np.exp(-np.asarray(logits, "float64")))


def softmax(logits):
    """Softmax over the last axis, in float64."""
    logits = np.asarray(logits, "float64")
    logits = logits - logits.max(-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True)


# -- evaluate ------------------------------------------------------------------


def evaluate_model(config, model, tokenizer, files, progress=False) -> dict:
    """Task metrics of `model` on labelled `files` (a dict of numbers).

    Args:
        config: the run's `FinetuneConfig` (task, columns, lengths).
        model: the task model.
        tokenizer: its `BertTokenizer`.
        files: list of paths, folders or globs, in the training format.
        progress: bool. Show a progress bar over the batches.

    Raises:
        ValueError: a label the model does not know (naming it, its file
            and line), or files the task cannot read.
    """
    task = get_task(config.task)
    label_map = _label_map(model, config)
    if task.evaluation == "ner":
        return _evaluate_ner(config, model, tokenizer, files, label_map,
                             progress)  # fmt: skip
    ds = task_dataset(config, files, tokenizer, label_map, training=False)
    if task.evaluation == "squad":
        return _evaluate_squad(model, ds, config.batch_size, progress)
    y_true, y_pred = [], []
    bar = _progress_bar(_num_batches(ds, config.batch_size), progress)
    for batch in ds:
        features, labels = batch[0], batch[1]
        y_true.append(np.asarray(labels))
        y_pred.append(np.asarray(model.predict_on_batch(features)))
        bar.add(1)
    y_true, y_pred = np.concatenate(y_true), np.concatenate(y_pred)
    results = {"examples": int(len(y_true))}
    if task.evaluation == "multilabel":
        predicted = sigmoid(y_pred) > model.threshold
        return evaluation.multilabel_scores(y_true, predicted, label_map.names)
    if task.evaluation == "regression":
        y_pred = y_pred.reshape(-1)
        results["pearson"] = evaluation.pearson(y_true, y_pred)
        results["spearman"] = evaluation.spearman(y_true, y_pred)
        results["mse"] = float(np.mean((y_true - y_pred) ** 2))
        return results
    pred = y_pred.argmax(-1)
    results["accuracy"] = evaluation.accuracy(y_true, pred)
    if task.evaluation == "classification":
        results["macro_f1"] = evaluation.macro_f1(y_true, pred, len(label_map))
    return results


def _ner_predictions(config, model, tokenizer, sentences, label_map,
                     progress=False):  # fmt: skip
    """Predicted word labels of `sentences` (one list per sentence)."""
    aligned = align_words(
        sentences, tokenizer, label_map, config.max_seq_length
    )
    keys = ("token_ids", "segment_ids", "padding_mask")
    batch = config.batch_size
    out = []
    bar = _progress_bar(math.ceil(len(sentences) / batch), progress)
    for b in range(0, len(sentences), batch):
        features = {k: aligned[k][b : b + batch] for k in keys}
        logits = np.asarray(model.predict_on_batch(features))
        for i in range(len(logits)):
            out.append(
                decode_word_labels(
                    logits[i],
                    aligned["word_ids"][b + i],
                    len(sentences[b + i].words),
                    label_map,
                )
            )
        bar.add(1)
    return out


def _evaluate_ner(config, model, tokenizer, files, label_map, progress):
    """Entity-level (seqeval-style) precision / recall / F1 on words."""
    sentences = read_ner_files(files, config.file_format)
    for sentence in sentences:  # unknown tags: a clear error
        for tag in sentence.tags:
            label_map.index(tag, sentence.where)
    predicted = _ner_predictions(
        config, model, tokenizer, sentences, label_map, progress
    )
    scores = evaluation.entity_scores([s.tags for s in sentences], predicted)
    return {"sentences": len(sentences), **scores}


def _squad_logits(model, ds, batch_size, progress=False):
    starts, ends = [], []
    bar = _progress_bar(_num_batches(ds, batch_size), progress)
    for features, _ in ds:
        out = model.predict_on_batch(features)
        starts.append(np.asarray(out["start_logits"]))
        ends.append(np.asarray(out["end_logits"]))
        bar.add(1)
    return np.concatenate(starts), np.concatenate(ends)


def _evaluate_squad(model, ds, batch_size, progress):
    start, end = _squad_logits(model, ds, batch_size, progress)
    predictions, _ = decode_squad(ds.examples, ds.windows, start, end)
    gold = {e.qid: e.answer_texts for e in ds.examples}
    return evaluation.squad_scores(gold, predictions)


# -- predict -------------------------------------------------------------------


def read_texts(config, model, input_file):
    """`(texts, pairs or None)` of an input file, in the training format.

    A `.txt` file holds one text per line. A table (CSV / TSV / JSON
    Lines) is read with the run's columns; a label column, if present,
    must hold labels the model knows.
    """
    if input_file.endswith(".txt"):
        with open(input_file, encoding="utf-8") as f:
            texts = [line.rstrip("\n") for line in f if line.strip()]
        if not texts:
            raise ValueError(f"--input {input_file!r} holds no text.")
        return texts, None
    examples = read_classification(
        input_file,
        config.text_column,
        config.text_pair_column,
        None,
        config.file_format,
    )
    label_map = _label_map(model, config)
    if label_map is not None:
        for record in read_records(input_file, config.file_format):
            if config.label_column in record.fields:
                label_map.index(
                    str(record.fields[config.label_column]), record.where
                )
    return examples.texts, examples.pairs


def predict_texts(config, model, tokenizer, texts, pairs=None,
                  batch_size=32) -> list[dict]:  # fmt: skip
    """Predictions for raw texts: one JSON-friendly dict per text.

    Classification: `label` and `probabilities`; multi-label: `labels`
    (over the threshold) and `probabilities`; regression: `score`; NER:
    `words`, `tags` and entity character spans.

    Raises:
        ValueError: a pair model without `pairs`, or a task that reads
            files only (squad, choice: use `predict_file`).
    """
    task = get_task(config.task)
    if task.evaluation in ("squad", "choice"):
        raise ValueError(
            f"--task {task.name} predictions read --input (a SQuAD JSON or a "
            "multiple-choice file); positional texts are not enough."
        )
    label_map = _label_map(model, config)
    if getattr(model, "text_pair", False) and pairs is None:
        raise ValueError(
            "This model was trained on text pairs: pass --text-pair once "
            "per text, or an --input file with both columns."
        )
    if task.evaluation == "ner":
        return _predict_ner(config, model, tokenizer, texts, label_map)
    rows = []
    for b in range(0, len(texts), batch_size):
        chunk = texts[b : b + batch_size]
        chunk_pairs = pairs[b : b + batch_size] if pairs else None
        features = tokenizer.encode(
            chunk, chunk_pairs, max_length=config.max_seq_length
        )
        out = np.asarray(model.predict_on_batch(features))
        for i, text in enumerate(chunk):
            row = {"text": text}
            if chunk_pairs:
                row["text_pair"] = chunk_pairs[i]
            if task.evaluation == "regression":
                row["score"] = float(out[i].reshape(-1)[0])
            elif task.evaluation == "multilabel":
                probs = sigmoid(out[i])
                row["labels"] = [
                    n
                    for n, p in zip(label_map.names, probs, strict=True)
                    if p > model.threshold
                ]
                row["probabilities"] = {
                    n: round(float(p), 6)
                    for n, p in zip(label_map.names, probs, strict=True)
                }
            else:
                probs = softmax(out[i])
                row["label"] = label_map.name(int(probs.argmax()))
                row["probabilities"] = {
                    n: round(float(p), 6)
                    for n, p in zip(label_map.names, probs, strict=True)
                }
            rows.append(row)
    return rows


def predict_file(config, model, tokenizer, input_file,
                 batch_size=32) -> list[dict]:  # fmt: skip
    """Predictions for an input file (any task)."""
    task = get_task(config.task)
    if task.evaluation == "squad":
        return _predict_squad(model, tokenizer, config, input_file)
    if task.evaluation == "choice":
        return _predict_choice(model, tokenizer, config, input_file)
    texts, pairs = read_texts(config, model, input_file)
    return predict_texts(config, model, tokenizer, texts, pairs, batch_size)


def _predict_ner(config, model, tokenizer, texts, label_map):
    """Words, one tag per word and entity character spans of each text."""
    char_level = config.file_format == "peoples_daily"
    sentences = [NerSentence.from_text(t, char_level=char_level) for t in texts]
    tags = _ner_predictions(config, model, tokenizer, sentences, label_map)
    rows = []
    for text, sentence, labels in zip(texts, sentences, tags, strict=True):
        rows.append(
            {
                "text": text,
                "words": list(sentence.words),
                "tags": labels,
                "entities": [
                    {"type": t, "start": a, "end": b, "text": x}
                    for t, a, b, x in word_entities(sentence, labels)
                ],
            }
        )
    return rows


def _predict_squad(model, tokenizer, config, input_file):
    found = resolve_files(input_file)
    if len(found) != 1:
        raise ValueError(
            "SQuAD predictions read one JSON file (--input). Received: "
            f"{len(found)} files"
        )
    examples = read_squad(found[0], require_answers=False)
    ds = squad_dataset(
        examples,
        tokenizer,
        max_seq_length=config.max_seq_length,
        max_query_length=config.max_query_length,
        doc_stride=config.doc_stride,
        batch_size=config.batch_size,
    )
    start, end = _squad_logits(model, ds, config.batch_size)
    predictions, nbest = decode_squad(ds.examples, ds.windows, start, end)
    return [
        {
            "id": e.qid,
            "question": e.question,
            "answer": predictions.get(e.qid, ""),
            "score": float(nbest[e.qid][0][1]) if nbest.get(e.qid) else None,
        }
        for e in ds.examples
    ]


def _predict_choice(model, tokenizer, config, input_file):
    ds = choice_dataset(
        input_file,
        tokenizer,
        max_seq_length=config.max_seq_length,
        batch_size=config.batch_size,
        label_column=None,
        file_format=config.file_format,
    )
    rows = []
    for features in ds:
        features = features[0] if isinstance(features, tuple) else features
        probs = softmax(model.predict_on_batch(features))
        for p in probs:
            rows.append(
                {
                    "choice": int(p.argmax()),
                    "probabilities": p.round(6).tolist(),
                }
            )
    return rows


def pool(tokens, mask, pooling="mean", pooled=None, normalize=False):
    """One vector per row from token vectors (numpy; the serving graph has
    the same recipe in TensorFlow ops, `export.tasks.ServingTask`).

    Args:
        tokens: float `(batch, seq, hidden)`.
        mask: `(batch, seq)`, 1 for real tokens.
        pooling: `"mean"` (over real tokens), `"cls"`, `"max"`,
            `"mean_sqrt_len"` or `"pooler"` (returns `pooled`).
        pooled: the encoder's pooled output, for `"pooler"`.
        normalize: bool. L2-normalize.
    """
    tokens = np.asarray(tokens, "float64")
    mask = np.asarray(mask, "float64")[..., None]
    count = np.maximum(mask.sum(1), 1e-9)
    if pooling == "pooler":
        vectors = np.asarray(pooled, "float64")
    elif pooling == "cls":
        vectors = tokens[:, 0]
    elif pooling == "max":
        vectors = np.where(mask > 0, tokens, -np.inf).max(1)
    elif pooling == "mean_sqrt_len":
        vectors = (tokens * mask).sum(1) / np.sqrt(count)
    else:
        vectors = (tokens * mask).sum(1) / count
    if normalize:
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return vectors


def embedding_recipe(folder=None) -> dict:
    """`{"pooling", "normalize", "max_seq_length"}` of a sentence-
    transformers folder, else mean pooling, normalized, 128 tokens."""
    recipe = None
    if folder is not None and os.path.isdir(folder):
        recipe = run_files.read_sentence_transformers(folder)
    recipe = dict(recipe or {"pooling": "mean", "normalize": True})
    recipe["max_seq_length"] = recipe.get("max_seq_length") or 128
    return recipe


def embed_texts(encoder, tokenizer, texts, pooling="mean", normalize=True,
                max_length=128, batch_size=32):  # fmt: skip
    """Sentence embeddings of raw texts with a bare encoder.

    Returns:
        float64 array `(len(texts), hidden_dim)`.
    """
    length = min(max_length, encoder.max_sequence_length)
    vectors = []
    for b in range(0, len(texts), batch_size):
        inputs = tokenizer.encode(texts[b : b + batch_size], max_length=length)
        out = encoder(inputs, training=False)
        vectors.append(
            pool(
                out["sequence_output"],
                inputs["padding_mask"],
                pooling,
                out.get("pooled_output"),
                normalize,
            )  # fmt: skip
        )
    return np.concatenate(vectors)
