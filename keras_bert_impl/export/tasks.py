"""What each kind of model takes and returns at the serving boundary.

A serving task knows, for one kind of model (bare encoder, sequence
classifier, regressor, token classifier, span question answering, multiple
choice):

* the raw-text inputs of the `serving_default` signature (`tf.string`,
  first axis the batch);
* how to tokenize and pack them into the model's int32 inputs (every op a
  TensorFlow or tensorflow-text op: this runs in the serving graph, ahead
  of the XLA-compiled model);
* how to turn the model's numbers into what a client wants (label names,
  character spans, answer text), again with graph ops only;
* the shapes of the int32 inputs and the outputs of the `from_ids`
  signature.

Every output keeps the batch as its first axis, so TF Serving's row
("instances") and columnar ("inputs") REST formats both work.
"""

import dataclasses

import tensorflow as tf

from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.tasks import task_of
from keras_bert_impl.tokenization.packing import pack_segments

KINDS = (
    "encoder",
    "embedding",
    "classifier",
    "multi_label_classifier",
    "regressor",
    "token_classifier",
    "question_answering",
    "multiple_choice",
)


POOLINGS = ("mean", "cls", "max", "mean_sqrt_len", "pooler")


@dataclasses.dataclass(frozen=True)
class ServingTask:
    """The serving contract of one kind of model.

    Args:
        kind: str. One of `KINDS`.
        label_names: tuple of str. Class names (classifiers, token
            classifiers); empty otherwise.
        text_pair: bool. Whether `serving_default` takes a second text
            (`text_pair`) for classifiers and regressors. Question
            answering and multiple choice always take two inputs.
        max_answer_length: int. Longest answer, in tokens (question
            answering).
        num_choices: optional int. The number of choices a multiple-choice
            model was built for (`None`: any number).
        threshold: float. Probability above which a multi-label classifier
            predicts a label.
        pooling: str. How an `embedding` export pools the token vectors:
            `"mean"` (over real tokens), `"cls"`, `"max"`,
            `"mean_sqrt_len"` (sentence-transformers' modes) or `"pooler"`
            (the pooled output).
        normalize: bool. L2-normalize the embedding.
    """

    kind: str
    label_names: tuple[str, ...] = ()
    text_pair: bool = False
    max_answer_length: int = 30
    num_choices: int | None = None
    threshold: float = 0.5
    pooling: str = "mean"
    normalize: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(
                f"`task` must be one of {KINDS}. Received: task={self.kind!r}"
            )
        if self.max_answer_length < 1:
            raise ValueError(
                "`max_answer_length` must be positive. Received: "
                f"max_answer_length={self.max_answer_length}"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"`pooling` must be one of {POOLINGS}. Received: "
                f"pooling={self.pooling!r}"
            )

    # -- signature shapes ----------------------------------------------------

    @property
    def text_inputs(self) -> dict[str, tf.TensorSpec]:
        """`serving_default` inputs, name -> spec (in call order)."""
        if self.kind == "question_answering":
            names, shapes = ("question", "context"), ([None], [None])
        elif self.kind == "multiple_choice":
            names = ("text", "choices")
            shapes = ([None], [None, self.num_choices])
        elif self.text_pair:
            names, shapes = ("text", "text_pair"), ([None], [None])
        else:
            names, shapes = ("text",), ([None],)
        return {
            n: tf.TensorSpec(s, tf.string, name=n)
            for n, s in zip(names, shapes, strict=True)
        }

    @property
    def ids_shape(self) -> list[int | None]:
        """Shape of each int32 input of `from_ids`."""
        if self.kind == "multiple_choice":
            return [None, self.num_choices, None]  # (batch, choices, seq)
        return [None, None]

    @property
    def sequence_outputs(self) -> tuple[str, ...]:
        """Model outputs with a sequence axis (axis 1), for re-slicing."""
        return {
            "encoder": ("sequence_output",),
            "embedding": ("sequence_output",),
            "token_classifier": ("logits",),
            "question_answering": ("start_logits", "end_logits"),
        }.get(self.kind, ())

    # -- raw text -> model inputs ------------------------------------------

    def encode(self, tokenizer, inputs, max_length):
        """Tokenizes and packs the text inputs.

        Returns:
            `(model_inputs, context)`: the int32 dict (batch and sequence
            axes as long as the longest packed row) and what `decode` needs.
        """
        if self.kind == "multiple_choice":
            # Packed as batch * choices rows of (text, choice), then
            # reshaped: the tokenizer and the trimmer only ever see flat
            # (rows,) strings, each segment with the same number of rows.
            text, choices = inputs["text"], inputs["choices"]
            batch, num_choices = tf.shape(choices)[0], tf.shape(choices)[1]
            checks = [
                tf.debugging.assert_equal(
                    tf.shape(text)[0],
                    batch,
                    message="`text` and `choices` need the same batch size "
                    "(one row of choices per text)",
                ),
                tf.debugging.assert_positive(
                    num_choices, message="`choices` needs at least 1 column"
                ),
            ]
            with tf.control_dependencies(checks):
                firsts = tf.repeat(text, num_choices)
                seconds = tf.reshape(choices, [-1])
            packed, _ = _pack(
                tokenizer,
                [tokenizer.tokenize(firsts), tokenizer.tokenize(seconds)],
                max_length,
            )
            packed = {
                k: tf.reshape(v, [batch, num_choices, tf.shape(v)[1]])
                for k, v in packed.items()
            }
            return packed, {"choices": choices}
        if self.kind == "question_answering":
            question, context = inputs["question"], inputs["context"]
            ids, start, end = tokenizer.tokenize_with_offsets(context)
            packed, trimmed = _pack(
                tokenizer, [tokenizer.tokenize(question), ids], max_length
            )
            return packed, {
                "context": context,
                "question_length": trimmed[0].row_lengths(),
                "context_length": trimmed[1].row_lengths(),
                "start": start,
                "end": end,
            }
        if self.kind == "token_classifier":
            text = inputs["text"]
            ids, start, end = tokenizer.tokenize_with_offsets(text)
            packed, trimmed = _pack(tokenizer, [ids], max_length)
            return packed, {
                "text": text,
                "length": trimmed[0].row_lengths(),
                "start": start,
                "end": end,
            }
        segments = [tokenizer.tokenize(inputs["text"])]
        if self.text_pair:
            segments.append(tokenizer.tokenize(inputs["text_pair"]))
        packed, _ = _pack(tokenizer, segments, max_length)
        return packed, {}

    # -- model outputs -> client outputs -----------------------------------

    def decode(self, outputs, inputs, context):
        """The `serving_default` outputs from the model's outputs."""
        if self.kind == "encoder":
            return {
                **outputs,  # sequence_output (+ pooled_output)
                "padding_mask": inputs["padding_mask"],
                "token_ids": inputs["token_ids"],
            }
        if self.kind == "embedding":
            return {"embedding": self._embedding(outputs, inputs)}
        if self.kind == "classifier":
            return self._decode_classifier(outputs["logits"])
        if self.kind == "multi_label_classifier":
            return self._decode_multi_label(outputs["logits"])
        if self.kind == "regressor":
            return {"score": outputs["logits"][:, 0]}
        if self.kind == "token_classifier":
            return self._decode_tokens(outputs["logits"], context)
        if self.kind == "question_answering":
            return self._decode_span(outputs, context)
        return self._decode_choice(outputs["logits"], context)

    def ids_outputs(self, outputs, inputs=None):
        """The `from_ids` outputs: the model's numbers (+ probabilities)."""
        if self.kind in ("classifier", "token_classifier", "multiple_choice"):
            return {
                "logits": outputs["logits"],
                "probabilities": tf.nn.softmax(outputs["logits"]),
            }
        if self.kind == "regressor":
            return {"score": outputs["logits"][:, 0]}
        if self.kind == "multi_label_classifier":
            return {
                "logits": outputs["logits"],
                "probabilities": tf.sigmoid(outputs["logits"]),
            }
        if self.kind == "embedding":
            return {"embedding": self._embedding(outputs, inputs)}
        return dict(outputs)

    def _embedding(self, outputs, inputs):
        """One vector per text: pooled token vectors, maybe normalized."""
        if self.pooling == "pooler":
            vectors = outputs["pooled_output"]
        else:
            tokens = outputs["sequence_output"]
            mask = tf.cast(inputs["padding_mask"], tokens.dtype)[..., None]
            count = tf.maximum(tf.reduce_sum(mask, 1), 1e-9)
            if self.pooling == "cls":
                vectors = tokens[:, 0]
            elif self.pooling == "max":
                lowest = tf.fill(tf.shape(tokens), tokens.dtype.min)
                vectors = tf.reduce_max(tf.where(mask > 0, tokens, lowest), 1)
            elif self.pooling == "mean_sqrt_len":
                vectors = tf.reduce_sum(tokens * mask, 1) / tf.sqrt(count)
            else:
                vectors = tf.reduce_sum(tokens * mask, 1) / count
        if self.normalize:
            vectors = tf.math.l2_normalize(vectors, -1, epsilon=1e-12)
        return vectors

    def _decode_multi_label(self, logits):
        probabilities = tf.sigmoid(logits)
        chosen = probabilities > self.threshold
        names = tf.tile(self._names()[tf.newaxis], [tf.shape(logits)[0], 1])
        return {
            "labels": tf.where(chosen, names, ""),
            "label_mask": tf.cast(chosen, tf.int32),
            "probabilities": probabilities,
            "label_names": names,
            "logits": logits,
        }

    def _names(self):
        return tf.constant(list(self.label_names), tf.string)

    def _decode_classifier(self, logits):
        probabilities = tf.nn.softmax(logits)
        label_id = tf.argmax(probabilities, -1, output_type=tf.int32)
        names = self._names()
        batch = tf.shape(logits)[0]
        return {
            "label": tf.gather(names, label_id),
            "label_id": label_id,
            "score": tf.reduce_max(probabilities, -1),
            "probabilities": probabilities,
            "label_names": tf.tile(names[tf.newaxis], [batch, 1]),
            "logits": logits,
        }

    def _decode_tokens(self, logits, context):
        # Token j of a string sits at position j + 1 (after [CLS]).
        length = tf.cast(context["length"], tf.int32)
        width = tf.reduce_max(tf.concat([length, [0]], 0))
        logits = logits[:, 1 : 1 + width]
        probabilities = tf.nn.softmax(logits)
        real = tf.sequence_mask(length, width)
        label_id = tf.argmax(probabilities, -1, output_type=tf.int32)
        label_id = tf.where(real, label_id, -1)
        label = tf.where(
            real, tf.gather(self._names(), tf.maximum(label_id, 0)), ""
        )
        start = _dense(context["start"], width)
        end = _dense(context["end"], width)
        text = tf.broadcast_to(context["text"][:, tf.newaxis], tf.shape(start))
        token = tf.strings.substr(text, start, end - start, unit="UTF8_CHAR")
        batch = tf.shape(logits)[0]
        return {
            "tokens": token,
            "labels": label,
            "label_ids": label_id,
            "scores": tf.where(real, tf.reduce_max(probabilities, -1), 0.0),
            "start": start,
            "end": end,
            "token_mask": tf.cast(real, tf.int32),
            "label_names": tf.tile(self._names()[tf.newaxis], [batch, 1]),
        }

    def _decode_span(self, outputs, context):
        # Context token j sits at position question_length + 2 + j.
        length = tf.cast(context["context_length"], tf.int32)
        offset = tf.cast(context["question_length"], tf.int32) + 2
        width = tf.reduce_max(tf.concat([length, [0]], 0))
        seq = tf.shape(outputs["start_logits"])[1]
        positions = offset[:, tf.newaxis] + tf.range(width)[tf.newaxis]
        positions = tf.minimum(positions, seq - 1)
        start_logits = tf.gather(outputs["start_logits"], positions, axis=1,
                                 batch_dims=1)  # fmt: skip
        end_logits = tf.gather(outputs["end_logits"], positions, axis=1,
                               batch_dims=1)  # fmt: skip
        # Valid spans: i <= j < i + max_answer_length, both in the context.
        i = tf.range(width)[:, tf.newaxis]
        j = tf.range(width)[tf.newaxis, :]
        allowed = (i <= j) & (j < i + self.max_answer_length)
        real = tf.sequence_mask(length, width)
        allowed = (
            allowed[tf.newaxis]
            & real[:, :, tf.newaxis]
            & real[:, tf.newaxis, :]
        )
        scores = start_logits[:, :, tf.newaxis] + end_logits[:, tf.newaxis, :]
        lowest = tf.float32.min
        scores = tf.where(allowed, scores, lowest)
        flat = tf.reshape(scores, [tf.shape(scores)[0], -1])
        best = tf.argmax(flat, -1, output_type=tf.int32)
        has_span = length > 0
        first = tf.where(has_span, best // tf.maximum(width, 1), 0)
        last = tf.where(has_span, best % tf.maximum(width, 1), 0)
        null_score = outputs["start_logits"][:, 0] + outputs["end_logits"][:, 0]
        score = tf.where(has_span, tf.reduce_max(flat, -1), null_score)
        start = _dense(context["start"], width)
        end = _dense(context["end"], width)
        start_char = tf.where(
            has_span, tf.gather(start, first, axis=1, batch_dims=1), 0
        )
        end_char = tf.where(
            has_span, tf.gather(end, last, axis=1, batch_dims=1), 0
        )
        answer = tf.strings.substr(
            context["context"], start_char, end_char - start_char,
            unit="UTF8_CHAR",
        )  # fmt: skip
        return {
            "answer": answer,
            "start": start_char,
            "end": end_char,
            "score": score,
            "null_score": null_score,
        }

    def _decode_choice(self, logits, context):
        probabilities = tf.nn.softmax(logits)
        choice = tf.argmax(probabilities, -1, output_type=tf.int32)
        return {
            "choice": choice,
            "answer": tf.gather(context["choices"], choice, batch_dims=1),
            "score": tf.reduce_max(probabilities, -1),
            "probabilities": probabilities,
            "logits": logits,
        }


def _pack(tokenizer, segments, max_length):
    """The one packer, padded to the longest row of the request (the
    compiled model does no work on padding the batch does not need)."""
    return pack_segments(
        segments,
        max_length,
        cls_id=tokenizer.cls_id,
        sep_id=tokenizer.sep_id,
        pad_id=tokenizer.pad_id,
        pad_to_max_length=False,
    )


def _dense(ragged, width):
    """A ragged int tensor as dense int32 `(batch, width)`, 0-padded."""
    dense = tf.cast(ragged.to_tensor(0), tf.int32)
    dense = tf.pad(dense, [[0, 0], [0, width]])
    return dense[:, :width]


def detect_task(
    model,
    task: str | None = None,
    label_names=None,
    text_pair: bool | None = None,
    embedding: dict | None = None,
) -> ServingTask:
    """The `ServingTask` of a model: its serving kind, labels and inputs.

    The kind is `task` if given, else `"encoder"` for a `BertEncoder` and
    the registry's `serving_kind` for a task model
    (`keras_bert_impl.tasks.task_of`). Label names come from
    `label_names`, else the model's `label_names` attribute, else
    `LABEL_0`, `LABEL_1`, ... (one per output logit). `embedding`
    (`{"pooling": ..., "normalize": ...}`) configures the `"embedding"`
    kind, which serves a bare encoder as one vector per text.

    Raises:
        ValueError: the kind cannot be told, or labels / outputs that do
            not fit it.
    """
    kind = task
    if kind is None:
        if isinstance(model, BertEncoder):
            kind = "encoder"
        else:
            try:
                kind = task_of(model).serving_kind
            except ValueError:
                raise ValueError(
                    "Cannot tell which task the model serves; pass `task=` "
                    f"(one of {KINDS}). Received: model of type "
                    f"{type(model).__name__}"
                ) from None
    names = ()
    if kind == "regressor":
        num = _num_logits(model)
        if num is not None and num != 1:
            raise ValueError(
                "A regressor must output one score per input, shape "
                f"(batch_size, 1). Received: a model with {num} outputs per "
                "input; export a classifier with task='classifier' instead."
            )
    if kind in ("classifier", "multi_label_classifier", "token_classifier"):
        if label_names is None:
            label_names = getattr(model, "label_names", None)
        if label_names is None:
            num = _num_logits(model)
            label_names = [f"LABEL_{i}" for i in range(num)]
        names = tuple(str(n) for n in label_names)
        num = _num_logits(model)
        if num is not None and num != len(names):
            raise ValueError(
                f"The model has {num} output classes but {len(names)} label "
                f"names. Received: label_names={list(names)}"
            )
    if text_pair is None:
        text_pair = bool(getattr(model, "text_pair", False))
    num_choices = None
    if kind == "multiple_choice":
        num_choices = getattr(model, "num_choices", None)
    return ServingTask(
        kind=kind,
        label_names=names,
        text_pair=text_pair,
        num_choices=num_choices,
        threshold=float(getattr(model, "threshold", 0.5)),
        **(embedding or {}),
    )


def _num_logits(model):
    """Width of the model's logits output, if it has one."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):  # a subclassed model
        return None
    if outputs is None:
        return None
    if isinstance(outputs, dict):
        values = list(outputs.values())
        outputs = values if len(values) == 1 else [outputs.get("logits")]
    if len(outputs) != 1 or outputs[0] is None:
        return None
    return outputs[0].shape[-1]


def model_outputs(task: ServingTask, outputs) -> dict:
    """The model's outputs as a dict of float32 tensors, by name."""
    if isinstance(outputs, dict) and task.kind in (
        "classifier",
        "multi_label_classifier",
        "regressor",
        "token_classifier",
        "multiple_choice",
    ):
        # One tensor under whatever key the model uses.
        if len(outputs) == 1:
            outputs = next(iter(outputs.values()))
        else:
            outputs = outputs["logits"]
    if not isinstance(outputs, dict):
        if task.kind == "question_answering":
            if isinstance(outputs, (list, tuple)):
                start, end = outputs
            else:  # (batch, seq, 2)
                start, end = outputs[..., 0], outputs[..., 1]
            outputs = {"start_logits": start, "end_logits": end}
        else:
            outputs = {"logits": outputs}
    return {k: tf.cast(v, tf.float32) for k, v in outputs.items()}


def ids_input_specs(task: ServingTask) -> dict[str, tf.TensorSpec]:
    """The int32 inputs of `from_ids`, named as the model's inputs."""
    return {
        name: tf.TensorSpec(task.ids_shape, tf.int32, name=name)
        for name in INPUT_NAMES
    }
