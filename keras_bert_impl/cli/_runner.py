"""The TensorFlow side of `finetune`, `evaluate` and `predict`.

Imported only inside the commands' `run` functions (it loads TensorFlow).
Datasets come from `keras_bert_impl.data.finetuning`, task models from
`keras_bert_impl.models.tasks`; this module only wires them to the command
line and writes / reads the run folder (see `_tasks`).
"""

import json
import math
import os
import shutil

import keras
import numpy as np

from keras_bert_impl.cli import _tasks
from keras_bert_impl.config import BertConfig


def _presets():
    return tuple(BertConfig.presets())


# === Starting weights ===


def resolve_vocab(init, vocab=None):
    """The vocab.txt for `--init` (checked to exist; weights not loaded)."""
    from keras_bert_impl.models.tasks import resolve_checkpoint

    if vocab is not None and not os.path.isfile(vocab):
        raise FileNotFoundError(
            f"--vocab {vocab!r} does not exist. Pass the vocab.txt of the "
            "--init checkpoint, or leave --vocab out to use the one beside it."
        )
    if init in _presets() and not os.path.exists(init):
        if vocab is None:
            raise ValueError(
                f"--init {init!r} is a preset (random weights): pass --vocab "
                "with the vocab.txt to train with."
            )
        return vocab
    if not os.path.exists(init) and not os.path.exists(f"{init}.index"):
        raise FileNotFoundError(
            f"--init {init!r} does not exist. Pass a Hugging Face folder, a "
            "TF1 checkpoint, a `keras-bert-impl pretrain` run folder or a "
            f"preset ({', '.join(_presets())})."
        )
    _, found = resolve_checkpoint(init)
    vocab = vocab or found
    if vocab is None:
        raise ValueError(
            f"--init {init!r} has no vocab.txt beside its weights: pass "
            "--vocab with the vocabulary it was trained with."
        )
    return vocab


def resolve_init(init, vocab, dtype=None):
    """The encoder for `--init` (checkpoint weights or a fresh preset)."""
    from keras_bert_impl.models.encoder import build_encoder
    from keras_bert_impl.models.tasks import load_encoder
    from keras_bert_impl.tokenization.vocab import read_vocab

    if init in _presets() and not os.path.exists(init):
        size = len(read_vocab(vocab))
        config = BertConfig.preset(init, vocabulary_size=size)
        return build_encoder(config, dtype=dtype)
    return load_encoder(init, vocab=vocab, dtype=dtype)


# === Datasets per task ===


def _finetuning():
    from keras_bert_impl.data import finetuning

    return finetuning


def _need(name):
    module = _finetuning()
    fn = getattr(module, name, None)
    if fn is None:
        raise ValueError(
            f"This installation has no `{name}` in "
            "keras_bert_impl.data.finetuning."
        )
    return fn


def make_dataset(config, files, tokenizer, label_map, training):
    """The `(features, labels[, weights])` dataset of `files` for a task."""
    task = config["task"]
    common = {
        "max_seq_length": config["max_seq_length"],
        "batch_size": config["batch_size"],
        "shuffle": training,
        "seed": config["seed"],
    }
    if task in ("classify", "pair", "regress"):
        ds = _finetuning().classification_dataset(
            files,
            tokenizer,
            label_map=label_map,
            regression=task == "regress",
            text_column=config.get("text_column"),
            text_pair_column=config.get("text_pair_column"),
            label_column=config.get("label_column") or "label",
            file_format=config.get("file_format", "auto"),
            **common,
        )
        return ds
    if task == "ner":
        from keras_bert_impl.data.ner import ner_dataset

        return ner_dataset(
            read_ner(config, files), tokenizer, label_map=label_map, **common
        )
    if task == "squad":
        from keras_bert_impl.data.squad import squad_dataset

        common["shuffle"] = False if not training else True
        return squad_dataset(
            _one_file(files, "squad"),
            tokenizer,
            max_query_length=config["max_query_length"],
            doc_stride=config["doc_stride"],
            **common,
        )
    from keras_bert_impl.data.choice import choice_dataset

    return choice_dataset(
        files,
        tokenizer,
        label_column=config.get("label_column") or "label",
        file_format=config.get("file_format", "auto"),
        **common,
    )


def _one_file(files, task):
    from keras_bert_impl.data.corpus import resolve_files

    found = resolve_files(files)
    if len(found) != 1:
        raise ValueError(
            f"--task {task} reads one SQuAD JSON file per --train / --eval. "
            f"Received: {len(found)} files ({', '.join(found[:3])})"
        )
    return found[0]


def ner_format(config, files):
    """`"peoples_daily"` or `"conll"` (from --format, else the names)."""
    fmt = config.get("file_format", "auto")
    if fmt in ("conll", "peoples_daily"):
        return fmt
    if fmt != "auto":
        raise ValueError(
            f"--task ner reads --format conll or peoples_daily. Received: "
            f"--format {fmt!r}"
        )
    return "conll"


def read_ner(config, files):
    """`NerSentence`s of NER files (CoNLL or People's Daily)."""
    from keras_bert_impl.data.corpus import resolve_files
    from keras_bert_impl.data.ner import read_conll
    from keras_bert_impl.data.ner import read_peoples_daily

    if ner_format(config, files) == "conll":
        sentences = read_conll(files)
    else:
        sentences = []
        for path in resolve_files(files):
            sentences += read_peoples_daily(path)
    if not sentences:
        raise ValueError(
            f"No sentence in {', '.join(map(str, files))}: the NER files are "
            "empty."
        )
    return sentences


def _check_pair_columns(config, ds_files):
    """`--task pair` needs a second text; `classify` must not get one."""
    examples = _finetuning().read_classification(
        ds_files,
        config.get("text_column"),
        config.get("text_pair_column"),
        config.get("label_column") or "label",
        config.get("file_format", "auto"),
    )
    if config["task"] == "pair" and examples.pairs is None:
        raise ValueError(
            f"--task pair needs a second text column in {ds_files[0]}: name "
            "it text_pair, sentence2 or hypothesis, or pass "
            "--text-pair-column."
        )
    return examples.pairs is not None


# === Models ===


def build_model(task, encoder, label_names, dropout, text_pair=False):
    from keras_bert_impl.models import tasks

    if task in ("classify", "pair"):
        return tasks.BertClassifier(
            encoder,
            label_names=list(label_names),
            dropout=dropout,
            text_pair=text_pair,
        )
    if task == "regress":
        return tasks.BertRegressor(
            encoder, dropout=dropout, text_pair=text_pair
        )
    if task == "ner":
        return tasks.BertTokenClassifier(
            encoder, label_names=list(label_names), dropout=dropout
        )
    if task == "squad":
        return tasks.BertQuestionAnswering(encoder, dropout=dropout)
    return tasks.BertMultipleChoice(encoder, dropout=dropout)


def make_optimizer(config, total_steps):
    """AdamW with warmup + linear decay (the package's recipe)."""
    try:
        from keras_bert_impl.training.finetune import create_finetune_optimizer
    except ImportError:  # pragma: no cover - older trees
        create_finetune_optimizer = None
    if create_finetune_optimizer is not None:
        return create_finetune_optimizer(
            total_steps=total_steps,
            learning_rate=config["learning_rate"],
            warmup_ratio=config["warmup_ratio"],
            weight_decay=config["weight_decay"],
        )
    from keras_bert_impl.training.optimization import create_optimizer

    return create_optimizer(
        config["learning_rate"],
        total_steps=total_steps,
        warmup_steps=int(config["warmup_ratio"] * total_steps),
        weight_decay=config["weight_decay"],
    )


# === finetune ===


def _check_recipe(config):
    for name in ("epochs", "batch_size", "max_seq_length"):
        value = config[name]
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"--{name.replace('_', '-')} must be a positive integer. "
                f"Received: {value!r}"
            )
    if not config["learning_rate"] > 0:
        raise ValueError(
            "--learning-rate must be positive. Received: "
            f"{config['learning_rate']!r}"
        )
    if not 0 <= config["warmup_ratio"] < 1:
        raise ValueError(
            "--warmup-ratio must be in [0, 1). Received: "
            f"{config['warmup_ratio']!r}"
        )


def init_lower_case(init) -> bool:
    """The casing a `keras-bert-impl pretrain` run folder used (else True)."""
    path = os.path.join(str(init), "pretraining_config.json")
    if not os.path.isfile(path):
        return True
    with open(path, encoding="utf-8") as f:
        return bool(json.load(f).get("lower_case", True))


def finetune_from_args(args):
    """Runs `keras-bert-impl finetune`; returns the eval metrics."""
    config = {
        "task": args.task,
        "init": args.init,
        "train": list(args.train),
        "eval": list(args.eval) if args.eval else None,
        "lower_case": args.lower_case,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "warmup_ratio": args.warmup_ratio,
        "weight_decay": args.weight_decay,
        "dropout": args.dropout,
        "max_seq_length": args.max_seq_length,
        "seed": args.seed,
        "text_column": args.text_column,
        "text_pair_column": args.text_pair_column,
        "label_column": args.label_column,
        "file_format": args.file_format,
        "doc_stride": args.doc_stride,
        "max_query_length": args.max_query_length,
        "dtype": args.dtype,
        "jit_compile": args.jit_compile,
    }
    return finetune_run(
        config,
        args.output,
        vocab=args.vocab,
        overwrite=args.overwrite,
        verbose=2 if args.quiet else "auto",
    )


def finetune_run(config, output, vocab=None, overwrite=False, verbose="auto"):
    """Trains, saves the run folder and evaluates; returns the metrics."""
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    _check_recipe(config)
    output = os.fspath(output)
    model_path = os.path.join(output, _tasks.MODEL_FILE)
    if os.path.exists(model_path) and not overwrite:
        raise FileExistsError(
            f"--output {output!r} already holds a model.keras: pass another "
            "folder or --overwrite."
        )
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            f"--output {output!r}: its parent folder {parent} does not exist."
        )
    keras.utils.set_random_seed(config["seed"])
    dtype = None if config["dtype"] == "float32" else config["dtype"]
    vocab = resolve_vocab(config["init"], vocab)
    if config["lower_case"] is None:
        config["lower_case"] = init_lower_case(config["init"])
    tokenizer = BertTokenizer(vocab, lower_case=config["lower_case"])

    text_pair = False
    if config["task"] in ("classify", "pair", "regress"):
        text_pair = _check_pair_columns(config, config["train"])
    train_ds = make_dataset(config, config["train"], tokenizer, None, True)
    label_map = getattr(train_ds, "label_map", None)
    eval_ds = None
    if config["eval"]:
        eval_ds = make_dataset(
            config, config["eval"], tokenizer, label_map, False
        )
    label_names = list(label_map.names) if label_map is not None else None
    config["label_names"] = label_names
    config["vocab"] = os.path.abspath(vocab)
    config["train_examples"] = int(train_ds.num_examples)
    steps = math.ceil(train_ds.num_examples / config["batch_size"])
    total = steps * config["epochs"]
    config["total_steps"] = total

    # Data first (cheap, most user errors), then the weights.
    encoder = resolve_init(config["init"], vocab, dtype)
    if config["max_seq_length"] > encoder.max_sequence_length:
        raise ValueError(
            f"--max-seq-length {config['max_seq_length']} is longer than the "
            f"model's {encoder.max_sequence_length} positions. Pass "
            f"--max-seq-length {encoder.max_sequence_length} or less."
        )
    model = build_model(
        config["task"], encoder, label_names, config["dropout"], text_pair
    )
    model.compile(
        optimizer=make_optimizer(config, total),
        jit_compile=config["jit_compile"],
    )
    config = {**config, "jit_compile": bool(model.jit_compile)}  # resolved
    os.makedirs(output, exist_ok=True)
    shutil.copyfile(vocab, os.path.join(output, _tasks.VOCAB_FILE))
    _tasks.write_json(os.path.join(output, _tasks.CONFIG_FILE), config)
    callbacks = [
        keras.callbacks.TensorBoard(
            os.path.join(output, "logs"), update_freq="epoch"
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    model.fit(
        _fit_view(train_ds),
        validation_data=_fit_view(eval_ds) if eval_ds is not None else None,
        epochs=config["epochs"],
        callbacks=callbacks,
        verbose=verbose,
    )
    model.save(model_path)
    results = {}
    if config["eval"]:
        results = evaluate_model(
            config, model, tokenizer, config["eval"], progress=verbose != 2
        )
        _tasks.write_json(os.path.join(output, _tasks.RESULTS_FILE), results)
    return results


def _fit_view(ds):
    """The dataset as `fit` takes it (QA extras dropped)."""
    view = getattr(ds, "fit_dataset", None)
    return view if view is not None else ds


# === evaluate ===


def _progress_bar(num_batches, show=True):
    """A Keras progress bar over `num_batches` batches.

    With `show=False` it prints nothing (the loops call `add` either way).
    """
    return keras.utils.Progbar(
        num_batches, verbose=1 if show else 0, unit_name="batch"
    )


def _num_batches(ds, batch_size):
    """Batches of a `tf.data` dataset (from its `num_examples` when
    TensorFlow cannot tell)."""
    n = int(ds.cardinality())
    return n if n >= 0 else math.ceil(ds.num_examples / batch_size)


def evaluate_model(config, model, tokenizer, files, progress=False):
    """Task metrics of `model` on `files` (a dict of floats).

    `progress=True` shows a progress bar over the evaluation batches.
    """
    from keras_bert_impl.data.labels import LabelMap

    task = config["task"]
    names = getattr(model, "label_names", None) or config.get("label_names")
    label_map = LabelMap(names) if names else None
    ds = make_dataset(config, files, tokenizer, label_map, False)
    if task == "squad":
        return _evaluate_squad(model, ds, config["batch_size"], progress)
    if task == "ner":
        return _evaluate_ner(
            config, model, tokenizer, files, label_map, progress
        )
    y_true, y_pred = [], []
    bar = _progress_bar(_num_batches(ds, config["batch_size"]), progress)
    for batch in ds:
        features, labels = batch[0], batch[1]
        out = model.predict_on_batch(features)
        y_true.append(np.asarray(labels))
        y_pred.append(np.asarray(out))
        bar.add(1)
    y_true = np.concatenate(y_true)
    y_pred = np.concatenate(y_pred)
    results = {"examples": int(len(y_true))}
    if task == "regress":
        y_pred = y_pred.reshape(-1)
        results["pearson"] = _tasks.pearson(y_true, y_pred)
        results["spearman"] = _tasks.spearman(y_true, y_pred)
        results["mse"] = float(np.mean((y_true - y_pred) ** 2))
        return results
    pred = y_pred.argmax(-1)
    results["accuracy"] = _tasks.accuracy(y_true, pred)
    if task != "choice":
        results["macro_f1"] = _tasks.macro_f1(y_true, pred, len(names))
    return results


def _ner_predictions(
    config, model, tokenizer, sentences, label_map, progress=False
):
    """Predicted word labels of `sentences` (one list per sentence)."""
    from keras_bert_impl.data.ner import align_words
    from keras_bert_impl.data.ner import decode_word_labels

    aligned = align_words(
        sentences, tokenizer, label_map, config["max_seq_length"]
    )
    keys = ("token_ids", "segment_ids", "padding_mask")
    batch = config["batch_size"]
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
    from keras_bert_impl.evaluation import entity_scores

    sentences = read_ner(config, files)
    for sentence in sentences:  # unknown tags: a clear error
        for tag in sentence.tags:
            label_map.index(tag, sentence.where)
    predicted = _ner_predictions(
        config, model, tokenizer, sentences, label_map, progress
    )
    scores = entity_scores([s.tags for s in sentences], predicted)
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
    from keras_bert_impl.data.squad import decode_squad
    from keras_bert_impl.evaluation import squad_scores

    start, end = _squad_logits(model, ds, batch_size, progress)
    predictions, _ = decode_squad(ds.examples, ds.windows, start, end)
    gold = {e.qid: e.answer_texts for e in ds.examples}
    return squad_scores(gold, predictions)


def evaluate_run(model_dir, files, progress=True):
    config, model, tokenizer = _tasks.load_run(model_dir)
    return evaluate_model(config, model, tokenizer, files, progress)


# === predict ===


def _softmax(logits):
    logits = logits - logits.max(-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True)


def _read_inputs(config, input_file, label_map):
    """(texts, pairs or None) of `--input`; known labels checked."""
    from keras_bert_impl.data.tables import read_records

    if input_file.endswith(".txt"):
        with open(input_file, encoding="utf-8") as f:
            texts = [line.rstrip("\n") for line in f if line.strip()]
        if not texts:
            raise ValueError(f"--input {input_file!r} holds no text.")
        return texts, None
    examples = _finetuning().read_classification(
        input_file,
        config.get("text_column"),
        config.get("text_pair_column"),
        None,
        config.get("file_format", "auto"),
    )
    label_column = config.get("label_column") or "label"
    if label_map is not None:
        for record in read_records(
            input_file, config.get("file_format", "auto")
        ):
            if label_column in record.fields:
                label_map.index(str(record.fields[label_column]), record.where)
    return examples.texts, examples.pairs


def predict_run(model_dir, texts=None, pairs=None, input_file=None,
                batch_size=32):  # fmt: skip
    """Predictions of a run folder: one JSON-friendly dict per text."""
    from keras_bert_impl.data.labels import LabelMap

    config, model, tokenizer = _tasks.load_run(model_dir)
    task = config["task"]
    names = getattr(model, "label_names", None) or config.get("label_names")
    label_map = LabelMap(names) if names else None
    if task in ("squad", "choice"):
        if input_file is None:
            raise ValueError(
                f"--task {task} predictions read --input (a SQuAD JSON or a "
                "multiple-choice file); positional texts are not enough."
            )
        if task == "squad":
            return _predict_squad(model, tokenizer, config, input_file)
        return _predict_choice(model, tokenizer, config, input_file)
    if input_file is not None:
        texts, pairs = _read_inputs(config, input_file, label_map)
    if task == "pair" and pairs is None:
        raise ValueError(
            "This model was trained on text pairs: pass --text-pair once "
            "per text, or an --input file with both columns."
        )
    if task == "ner":
        return _predict_ner(model, tokenizer, config, texts, label_map)
    length = config["max_seq_length"]
    rows = []
    for b in range(0, len(texts), batch_size):
        chunk = texts[b : b + batch_size]
        chunk_pairs = pairs[b : b + batch_size] if pairs else None
        features = tokenizer.encode(chunk, chunk_pairs, max_length=length)
        out = np.asarray(model.predict_on_batch(features))
        for i, text in enumerate(chunk):
            row = {"text": text}
            if chunk_pairs:
                row["text_pair"] = chunk_pairs[i]
            if task == "regress":
                row["score"] = float(out[i].reshape(-1)[0])
            else:
                probs = _softmax(out[i].astype("float64"))
                row["label"] = label_map.name(int(probs.argmax()))
                row["probabilities"] = {
                    n: round(float(p), 6)
                    for n, p in zip(label_map.names, probs, strict=True)
                }
            rows.append(row)
    return rows


def _predict_ner(model, tokenizer, config, texts, label_map):
    """Words, one tag per word and entity character spans of each text."""
    from keras_bert_impl.data.ner import NerSentence
    from keras_bert_impl.data.ner import word_entities

    char_level = config.get("file_format") == "peoples_daily"
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
    from keras_bert_impl.data.squad import decode_squad
    from keras_bert_impl.data.squad import read_squad
    from keras_bert_impl.data.squad import squad_dataset

    examples = read_squad(
        _one_file([input_file], "squad"), require_answers=False
    )
    ds = squad_dataset(
        examples,
        tokenizer,
        max_seq_length=config["max_seq_length"],
        max_query_length=config["max_query_length"],
        doc_stride=config["doc_stride"],
        batch_size=config["batch_size"],
    )
    start, end = _squad_logits(model, ds, config["batch_size"])
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
    from keras_bert_impl.data.choice import choice_dataset

    ds = choice_dataset(
        input_file,
        tokenizer,
        max_seq_length=config["max_seq_length"],
        batch_size=config["batch_size"],
        label_column=None,
        file_format=config.get("file_format", "auto"),
    )
    rows = []
    for features in ds:
        features = features[0] if isinstance(features, tuple) else features
        probs = _softmax(np.asarray(model.predict_on_batch(features), "f8"))
        for p in probs:
            rows.append(
                {
                    "choice": int(p.argmax()),
                    "probabilities": p.round(6).tolist(),
                }
            )
    return rows
