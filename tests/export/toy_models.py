"""Minimal task models for the export tests, built on a tiny encoder.

They stand in for `keras_bert_impl.models.tasks` where a test needs a head
of a given kind; each is exported with an explicit `task=`.
"""

import keras
from keras import ops

from keras_bert_impl.models.encoder import INPUT_NAMES


def _inputs():
    return {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in INPUT_NAMES
    }


def classifier(encoder, num_labels):
    """Pooled output -> dense logits `(batch, num_labels)`."""
    inputs = _inputs()
    pooled = encoder(inputs)["pooled_output"]
    logits = keras.layers.Dense(num_labels, name="logits")(pooled)
    return keras.Model(inputs, logits, name="toy_classifier")


def token_classifier(encoder, num_labels):
    """Sequence output -> dense logits `(batch, seq, num_labels)`."""
    inputs = _inputs()
    sequence = encoder(inputs)["sequence_output"]
    logits = keras.layers.Dense(num_labels, name="logits")(sequence)
    return keras.Model(inputs, logits, name="toy_token_classifier")


def span_qa(encoder):
    """Sequence output -> `start_logits`, `end_logits` `(batch, seq)`."""
    inputs = _inputs()
    sequence = encoder(inputs)["sequence_output"]
    both = keras.layers.Dense(2, name="span")(sequence)
    return keras.Model(
        inputs,
        {"start_logits": both[..., 0], "end_logits": both[..., 1]},
        name="toy_span_qa",
    )


class MultipleChoice(keras.Model):
    """`(batch, choices, seq)` inputs -> logits `(batch, choices)`."""

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.score = keras.layers.Dense(1, name="score")

    def call(self, inputs, training=False):
        shape = ops.shape(inputs["token_ids"])
        flat = {k: ops.reshape(inputs[k], (-1, shape[-1])) for k in inputs}
        pooled = self.encoder(flat, training=training)["pooled_output"]
        return ops.reshape(self.score(pooled), (shape[0], shape[1]))
