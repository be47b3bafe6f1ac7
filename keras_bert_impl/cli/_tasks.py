"""What `finetune`, `evaluate` and `predict` share: tasks, run folders.

A fine-tuning run folder (`keras-bert-impl finetune --output DIR`) holds:

- `model.keras`: the task model (its `label_names` inside);
- `vocab.txt`: the tokenizer's vocabulary;
- `finetune_config.json`: the resolved configuration (task, columns,
  sequence length, tokenizer casing, recipe, label names, where it started
  from), which `evaluate` and `predict` read back so they prepare inputs
  exactly as training did;
- `logs/`: TensorBoard scalars (`logs/train`, `logs/validation`);
- `eval_results.json`: the metrics on `--eval` after training.

Nothing here imports TensorFlow at module level.
"""

import json
import math
import os

TASKS = ("classify", "pair", "regress", "ner", "squad", "choice")
CONFIG_FILE = "finetune_config.json"
MODEL_FILE = "model.keras"
VOCAB_FILE = "vocab.txt"
RESULTS_FILE = "eval_results.json"

# The paper's recipe (section 4 and appendix A.3), the `finetune` defaults.
RECIPE_DEFAULTS = {
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 3e-5,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "max_seq_length": 128,
}


def check_task(task):
    if task not in TASKS:
        raise ValueError(
            f"Unknown task {task!r}: use one of {', '.join(TASKS)}."
        )
    return task


def read_run(model_dir):
    """The `finetune_config.json` of a run folder, checked."""
    model_dir = os.fspath(model_dir)
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(
            f"--model {model_dir!r} is not a folder: pass the --output "
            "folder of `keras-bert-impl finetune`."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"--model {model_dir!r} has no {CONFIG_FILE}: pass the --output "
            "folder of `keras-bert-impl finetune`."
        )
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    check_task(config.get("task"))
    return config


def load_run(model_dir):
    """(config, task model, tokenizer) of a run folder."""
    import keras

    import keras_bert_impl.models.tasks  # noqa: F401  (registers classes)
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    config = read_run(model_dir)
    model = keras.models.load_model(
        os.path.join(model_dir, MODEL_FILE), compile=False
    )
    tokenizer = BertTokenizer(
        os.path.join(model_dir, VOCAB_FILE),
        lower_case=config.get("lower_case", True),
    )
    return config, model, tokenizer


def write_json(path, value):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


# === Metrics ===


def accuracy(y_true, y_pred):
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean())


def macro_f1(y_true, y_pred, num_classes):
    """Unweighted mean of the per-class F1 scores."""
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for c in range(num_classes):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        fp = float(np.sum((y_pred == c) & (y_true != c)))
        fn = float(np.sum((y_pred != c) & (y_true == c)))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def pearson(x, y):
    import numpy as np

    x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
    x, y = x - x.mean(), y - y.mean()
    denom = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom else float("nan")


def spearman(x, y):
    import numpy as np

    def ranks(v):
        v = np.asarray(v, "float64")
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        # Average ranks of ties.
        for value in np.unique(v):
            tied = v == value
            if tied.sum() > 1:
                r[tied] = r[tied].mean()
        return r

    return pearson(ranks(x), ranks(y))
