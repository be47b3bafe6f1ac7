"""The task registry: every fine-tuning task, in one table.

A task name (the CLI's `--task`, `build_task_model`'s `task`,
`finetune_config.json`'s `"task"`) maps to everything that differs between
tasks: the model class, how the model is built, the dataset reader, the
serving kind of an export, the options it reads (CLI flags and
`FinetuneConfig` fields) and how it is evaluated. `build_task_model`, the
dataset factory of `keras_bert_impl.training.finetune`, the CLI and the
export's task detection all read this table; adding a task is adding a row.

No TensorFlow import: model classes and dataset builders are imported on
first use (`Task.model_class()`, `Task.dataset_builder()`), so the CLI's
`--help` stays fast.

Example:
>>> get_task("pair").serving_kind, get_task("pair").fixed_model_kwargs
('classifier', {'text_pair': True, 'multi_label': False})
>>> [t.name for t in TASKS.values()]
['classify', 'pair', 'multilabel', 'regress', 'ner', 'squad', 'choice']
"""

import dataclasses
import importlib
from typing import Any

# Options a task may read, with their defaults (FinetuneConfig fields of the
# same names; CLI flags `--text-column`, ...).
OPTION_DEFAULTS: dict[str, Any] = {
    "text_column": None,
    "text_pair_column": None,
    "label_column": "label",
    "file_format": "auto",
    "label_separator": "|",
    "doc_stride": 128,
    "max_query_length": 64,
}
OPTION_FLAGS = {name: "--" + name.replace("_", "-") for name in OPTION_DEFAULTS}
OPTION_FLAGS["file_format"] = "--format"
# How a task is evaluated (`keras_bert_impl.training.evaluate`).
EVALUATIONS = (
    "classification",
    "multilabel",
    "regression",
    "ner",
    "squad",
    "choice",
)


@dataclasses.dataclass(frozen=True)
class Task:
    """One row of the registry.

    Args:
        name: str. The task name.
        summary: str. One line for `--help`.
        model: str. The model class, a name exported by
            `keras_bert_impl.models`.
        serving_kind: str. The export's kind
            (`keras_bert_impl.export.tasks.KINDS`).
        dataset: str. `"module:function"` of the dataset builder, called
            as `builder(files, tokenizer, [label_map=...,]
            max_seq_length=..., batch_size=..., shuffle=..., seed=...,
            **dataset_kwargs, **options)`.
        options: tuple of str. The options (keys of `OPTION_DEFAULTS`)
            passed to the dataset builder.
        evaluation: str. One of `EVALUATIONS`.
        labels: bool. Class names are learned from the training labels
            (`label_names` of the model).
        text_pair: bool or None. `True`: the task needs a second text;
            `None`: a second text if the files have one; `False`: never.
        fixed_model_kwargs: dict. Constructor arguments the task fixes.
        dataset_kwargs: dict. Builder arguments the task fixes.
    """

    name: str
    summary: str
    model: str
    serving_kind: str
    dataset: str
    options: tuple[str, ...]
    evaluation: str
    labels: bool = False
    text_pair: bool | None = False
    fixed_model_kwargs: dict = dataclasses.field(default_factory=dict)
    dataset_kwargs: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.options) - set(OPTION_DEFAULTS)
        if unknown or self.evaluation not in EVALUATIONS:
            raise ValueError(  # a registry row is wrong: a package bug
                f"Task {self.name!r}: unknown options {sorted(unknown)} or "
                f"evaluation {self.evaluation!r}"
            )

    def model_class(self):
        """The task model class (imports TensorFlow)."""
        import keras_bert_impl.models as models

        return getattr(models, self.model)

    def dataset_builder(self):
        """The dataset builder function (imports TensorFlow)."""
        module, name = self.dataset.split(":")
        return getattr(importlib.import_module(module), name)

    def build_model(
        self,
        encoder,
        *,
        label_names=None,
        dropout: float = 0.1,
        text_pair: bool = False,
        num_choices: int | None = None,
    ):
        """The task model on `encoder`, with only the arguments it takes.

        Args:
            encoder: a `BertEncoder`.
            label_names: list of str for tasks with labels.
            dropout: float. Head dropout.
            text_pair: bool. Whether the model is fed text pairs (tasks
                whose `text_pair` is `None`).
            num_choices: optional int (multiple choice).
        """
        kwargs: dict[str, Any] = {"dropout": dropout}
        if self.labels:
            if not label_names:
                raise ValueError(
                    f"--task {self.name} needs the label names (the classes "
                    "found in the training labels). Received: "
                    f"label_names={label_names!r}"
                )
            kwargs["label_names"] = list(label_names)
        if self.text_pair is None:
            kwargs["text_pair"] = bool(text_pair)
        if self.serving_kind == "multiple_choice":
            kwargs["num_choices"] = num_choices
        kwargs.update(self.fixed_model_kwargs)
        return self.model_class()(encoder, **kwargs)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="classify",
            summary="one text (or a pair, if the files have one) -> label",
            model="BertClassifier",
            serving_kind="classifier",
            dataset="keras_bert_impl.data.classification:"
            "classification_dataset",
            options=(
                "text_column",
                "text_pair_column",
                "label_column",
                "file_format",
            ),
            evaluation="classification",
            labels=True,
            text_pair=None,
            fixed_model_kwargs={"multi_label": False},
        ),
        Task(
            name="pair",
            summary="two texts -> label (entailment, paraphrase)",
            model="BertClassifier",
            serving_kind="classifier",
            dataset="keras_bert_impl.data.classification:"
            "classification_dataset",
            options=(
                "text_column",
                "text_pair_column",
                "label_column",
                "file_format",
            ),
            evaluation="classification",
            labels=True,
            text_pair=True,
            fixed_model_kwargs={"text_pair": True, "multi_label": False},
        ),
        Task(
            name="multilabel",
            summary="one text (or a pair) -> any set of labels (tagging)",
            model="BertClassifier",
            serving_kind="multi_label_classifier",
            dataset="keras_bert_impl.data.classification:"
            "classification_dataset",
            options=(
                "text_column",
                "text_pair_column",
                "label_column",
                "label_separator",
                "file_format",
            ),
            evaluation="multilabel",
            labels=True,
            text_pair=None,
            fixed_model_kwargs={"multi_label": True},
            dataset_kwargs={"multi_label": True},
        ),
        Task(
            name="regress",
            summary="one or two texts -> a number (STS-B)",
            model="BertRegressor",
            serving_kind="regressor",
            dataset="keras_bert_impl.data.classification:"
            "classification_dataset",
            options=(
                "text_column",
                "text_pair_column",
                "label_column",
                "file_format",
            ),
            evaluation="regression",
            text_pair=None,
            dataset_kwargs={"regression": True},
        ),
        Task(
            name="ner",
            summary="words -> BIO tags (CoNLL or People's Daily files)",
            model="BertTokenClassifier",
            serving_kind="token_classifier",
            dataset="keras_bert_impl.data.ner:ner_files_dataset",
            options=("file_format",),
            evaluation="ner",
            labels=True,
        ),
        Task(
            name="squad",
            summary="SQuAD v1.1/v2.0 JSON -> answer spans",
            model="BertQuestionAnswering",
            serving_kind="question_answering",
            dataset="keras_bert_impl.data.squad:squad_files_dataset",
            options=("doc_stride", "max_query_length"),
            evaluation="squad",
        ),
        Task(
            name="choice",
            summary="SWAG-style multiple choice",
            model="BertMultipleChoice",
            serving_kind="multiple_choice",
            dataset="keras_bert_impl.data.choice:choice_dataset",
            options=("label_column", "file_format"),
            evaluation="choice",
        ),
    )
}


def get_task(name: str) -> Task:
    """The registry row of `name`.

    Raises:
        ValueError: an unknown task, naming the known ones.
    """
    task = TASKS.get(name)
    if task is None:
        raise ValueError(
            f"Unknown task {name!r}: use one of {', '.join(TASKS)}."
        )
    return task


def task_of(model) -> Task:
    """The registry row of a task model: the first whose class it is.

    (A `BertClassifier` fed text pairs is `"classify"`: that task reads a
    second text when the files have one.)

    Raises:
        ValueError: the model is not one of the registry's task models.
    """
    for task in TASKS.values():
        if task.text_pair is True:
            continue  # a stricter alias of a row above
        fixed = {
            k: v for k, v in task.fixed_model_kwargs.items() if k != "text_pair"
        }
        if isinstance(model, task.model_class()) and all(
            getattr(model, k, None) == v for k, v in fixed.items()
        ):
            return task
    raise ValueError(
        "The model is not a task model of this package (one of "
        f"{sorted({t.model for t in TASKS.values()})}). Received: model of "
        f"type {type(model).__name__}"
    )
