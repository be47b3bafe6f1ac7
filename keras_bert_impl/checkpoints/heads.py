"""Task heads in checkpoints: one table of architectures and their tensors.

Every task model of this package ends in one dense layer (its class's
`HEAD_LAYER`) on the pooled output (classification, regression, multiple
choice) or on every position (token classification, question answering).
Hugging Face and Google's original TF1 code store the same layer under
their own names; this table maps one to the other:

| Hugging Face architecture | our model | HF tensors | TF1 tensors | HF pooler |
|---|---|---|---|---|
| `BertForSequenceClassification` (single-label) | `BertClassifier` | `classifier.*` | `output_weights`, `output_bias` (`run_classifier.py`) | yes |
| ... `problem_type="multi_label_classification"` | `BertClassifier(multi_label=True)` | `classifier.*` | - | yes |
| ... `problem_type="regression"` (or one label) | `BertRegressor` | `classifier.*` | - | yes |
| `BertForTokenClassification` | `BertTokenClassifier` | `classifier.*` | - | no |
| `BertForQuestionAnswering` | `BertQuestionAnswering` | `qa_outputs.*` | `cls/squad/output_*` (`run_squad.py`) | no |
| `BertForMultipleChoice` | `BertMultipleChoice` | `classifier.*` (one unit) | - | yes |

Hugging Face and TF1 store the head's kernel as `[out, in]`, Keras as
`[in, out]`. With a head, every encoder tensor of a Hugging Face task
checkpoint carries the `bert.` prefix. No TensorFlow import.
"""  # noqa: E501

import dataclasses

PROBLEM_TYPES = (
    "single_label_classification",
    "multi_label_classification",
    "regression",
)


@dataclasses.dataclass(frozen=True)
class Head:
    """One row of the table.

    Args:
        architecture: str. The Hugging Face class (`config.json`'s
            `architectures[0]`).
        model: str. The task model class in `keras_bert_impl.models`.
        hf: str. Prefix of the head's tensors in a Hugging Face checkpoint.
        tf1: optional str. Prefix of Google's TF1 tensors
            (`<tf1>_weights`, `<tf1>_bias`), if Google's code has the task.
        pooler: bool. Whether Hugging Face stores a pooler for it.
        labels: bool. Whether `id2label` names the outputs.
    """

    architecture: str
    model: str
    hf: str
    tf1: str | None
    pooler: bool
    labels: bool


HEADS = (
    Head("BertForSequenceClassification", "BertClassifier", "classifier",
         "output", pooler=True, labels=True),
    Head("BertForSequenceClassification", "BertRegressor", "classifier",
         None, pooler=True, labels=False),
    Head("BertForTokenClassification", "BertTokenClassifier", "classifier",
         None, pooler=False, labels=True),
    Head("BertForQuestionAnswering", "BertQuestionAnswering", "qa_outputs",
         "cls/squad/output", pooler=False, labels=False),
    Head("BertForMultipleChoice", "BertMultipleChoice", "classifier", None,
         pooler=True, labels=False),
)  # fmt: skip
ARCHITECTURES = sorted({h.architecture for h in HEADS})
# Checkpoints without a task head, read by `load_checkpoint`.
PRETRAINING = ("BertForPreTraining", "BertForMaskedLM")
ENCODER = ("BertModel",)
HEAD_NAMES = ("head/kernel", "head/bias")  # canonical names of a head


def head_of_model(model) -> Head:
    """The row of a task model, by its class name.

    Raises:
        ValueError: not a task model of this package.
    """
    name = type(model).__name__
    for cls in type(model).__mro__:
        for head in HEADS:
            if head.model == cls.__name__:
                return head
    raise ValueError(
        "Only the package's task models have a checkpoint head "
        f"({sorted({h.model for h in HEADS})}). Received: {name}"
    )


def head_for(architecture: str, problem_type, num_labels: int) -> Head:
    """The row of a Hugging Face `architectures[0]`, `problem_type` and
    head size.

    Raises:
        ValueError: an architecture or problem type this package has no
            model for.
    """
    rows = [h for h in HEADS if h.architecture == architecture]
    if not rows:
        raise ValueError(
            f"No task model for the Hugging Face architecture "
            f"{architecture!r}. Supported: {ARCHITECTURES + list(PRETRAINING)}"
            f" and {ENCODER[0]} (load_checkpoint)."
        )
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise ValueError(
            f"Unknown problem_type {problem_type!r} in config.json; expected "
            f"one of {PROBLEM_TYPES}."
        )
    if architecture == "BertForSequenceClassification":
        regression = problem_type == "regression" or (
            problem_type is None and num_labels == 1
        )
        return rows[1] if regression else rows[0]
    return rows[0]


def hf_names(head: Head) -> dict:
    """`{Hugging Face name: (canonical name, transpose)}` of the head."""
    return {
        f"{head.hf}.weight": (HEAD_NAMES[0], True),
        f"{head.hf}.bias": (HEAD_NAMES[1], False),
    }


def tf1_names(head: Head) -> dict:
    """`{TF1 name: (canonical name, transpose)}` of the head (Google's
    kernels are `[out, in]` too)."""
    if head.tf1 is None:
        return {}
    return {
        f"{head.tf1}_weights": (HEAD_NAMES[0], True),
        f"{head.tf1}_bias": (HEAD_NAMES[1], False),
    }
