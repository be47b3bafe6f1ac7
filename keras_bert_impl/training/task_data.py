"""The dataset factory: a task's files → the dataset its model trains on.

Which reader a task uses, which options it reads and which arguments it
fixes come from the registry (`keras_bert_impl.tasks`); the settings
(sequence length, batch size, seed, options) from a `FinetuneConfig`.
Training, evaluation and prediction all build their datasets here, so
they read files the same way.
"""

from keras_bert_impl.tasks import get_task


def task_dataset(config, files, tokenizer, label_map=None, training=False):
    """The `(features, labels[, weights])` dataset of `files` for a task.

    Args:
        config: a `FinetuneConfig` (its `task`, `max_seq_length`,
            `batch_size`, `seed` and the task's options).
        files: list of paths, folders or globs.
        tokenizer: the `BertTokenizer`.
        label_map: the training label map (evaluation), or `None` to build
            it from these files (training).
        training: bool. Shuffle (seeded, anew every epoch).

    Returns:
        The reader's `tf.data.Dataset` (with `num_examples`, and
        `label_map` for tasks with labels).
    """
    task = get_task(config.task)
    kwargs = {
        "max_seq_length": config.max_seq_length,
        "batch_size": config.batch_size,
        "shuffle": bool(training),
        "seed": config.seed,
        **task.dataset_kwargs,
        **{name: getattr(config, name) for name in task.options},
    }
    if task.labels:
        kwargs["label_map"] = label_map
    return task.dataset_builder()(files, tokenizer, **kwargs)


def uses_text_pair(config, dataset) -> bool:
    """Whether the task's model is fed text pairs, from its training set.

    `pair` requires a second text; `classify` and `regress` take one if the
    files have it; the other tasks never.

    Raises:
        ValueError: `task="pair"` and the files have no second text.
    """
    task = get_task(config.task)
    if task.text_pair is False:
        return False
    has_pairs = bool(getattr(dataset, "text_pair", False))
    if task.text_pair is True and not has_pairs:
        raise ValueError(
            f"--task {task.name} needs a second text column in the "
            "training files: name it text_pair, sentence2 or hypothesis, or "
            "pass --text-pair-column."
        )
    return has_pairs
