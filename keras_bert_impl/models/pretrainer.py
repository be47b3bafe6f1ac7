"""BERT pretraining model: masked-LM and next-sentence heads on an encoder.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805, section 3.1.
"""

import keras

from keras_bert_impl.health import HealthMixin
from keras_bert_impl.layers.masked_lm_head import BertMaskedLMHead
from keras_bert_impl.layers.next_sentence_head import BertNextSentenceHead
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.runtime import XLADefaultMixin


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertPretrainer(HealthMixin, XLADefaultMixin, keras.Model):
    """Encoder + masked-LM head (tied to the token embedding) + NSP head.

    A functional `keras.Model`. Its inputs are the encoder's plus
    `mask_positions`; its outputs are `"masked_lm"`, vocabulary logits at
    the masked positions `(batch_size, num_predictions, vocabulary_size)`,
    and `"next_sentence"`, logits `(batch_size, 2)` (0 = B follows A).
    `compile()` without arguments uses BERT's losses and metrics: masked-LM
    cross-entropy averaged over the real predictions only (pass
    `mask_weights` as the `"masked_lm"` sample weight, and ones as the
    `"next_sentence"` one: Keras wants a weight per output once any is
    given), NSP cross-entropy, and both accuracies, XLA-compiled by the
    package's `jit_compile="auto"` rule (`keras_bert_impl.runtime`).

    Args:
        encoder: a `BertEncoder`.
        **kwargs: `name`, `trainable`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> pretrainer = BertPretrainer(encoder)
    >>> ids = np.array([[2, 4, 4, 3]], "int32")
    >>> out = pretrainer({"token_ids": ids, "segment_ids": 0 * ids,
    ...                   "padding_mask": 1 + 0 * ids,
    ...                   "mask_positions": np.array([[1, 2]], "int32")})
    >>> tuple(out["masked_lm"].shape), tuple(out["next_sentence"].shape)
    ((1, 2, 32), (1, 2))
    """

    def __init__(self, encoder, **kwargs):
        if isinstance(encoder, BertEncoder) and not encoder.pooler:
            raise ValueError(
                "BertPretrainer's next-sentence head reads the pooled "
                "output, but the encoder has no pooler (pooler=False). Load "
                "the checkpoint with pooler=True."
            )
        if not isinstance(encoder, BertEncoder):
            raise ValueError(
                "`encoder` must be a keras_bert_impl BertEncoder (see "
                f"build_encoder). Received: {type(encoder).__name__}"
            )
        # === Layers ===
        masked_lm_head = BertMaskedLMHead(
            vocabulary_size=encoder.vocabulary_size,
            activation=encoder.hidden_activation,
            layer_norm_epsilon=encoder.layer_norm_epsilon,
            initializer_range=encoder.initializer_range,
            token_embedding=encoder.token_embedding,
            dtype=encoder.dtype_policy,
            name="masked_lm_head",
        )
        next_sentence_head = BertNextSentenceHead(
            initializer_range=encoder.initializer_range,
            dtype=encoder.dtype_policy,
            name="next_sentence_head",
        )
        # === Functional graph ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in (*INPUT_NAMES, "mask_positions")
        }
        encoded = encoder({name: inputs[name] for name in INPUT_NAMES})
        outputs = {
            "masked_lm": masked_lm_head(
                encoded["sequence_output"], inputs["mask_positions"]
            ),
            "next_sentence": next_sentence_head(encoded["pooled_output"]),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.masked_lm_head = masked_lm_head
        self.next_sentence_head = next_sentence_head

    def call(self, inputs, training=None, mask=None):
        """Runs the pretrainer, the last block at the needed rows only.

        Same outputs as the functional graph built in `__init__` (which
        still defines the layers, weights and saved structure), computed
        faster: the last Transformer block's output is needed only at
        `[CLS]` (for NSP) and at `mask_positions` (for the masked LM), so
        that block's queries, attention output and feed-forward run on
        those `1 + num_predictions` rows instead of all `seq_len` (keys
        and values still cover every position). Inputs that are not the
        documented dict go through the plain graph.
        """
        if not isinstance(inputs, dict) or set(inputs) != set(
            (*INPUT_NAMES, "mask_positions")
        ):
            return super().call(inputs, training=training, mask=mask)
        encoder = self.encoder
        padding_mask = inputs["padding_mask"]
        x = encoder.get_layer("embeddings")(
            inputs["token_ids"], inputs["segment_ids"], training=training
        )
        blocks = [
            encoder.get_layer(f"transformer_layer_{i}")
            for i in range(encoder.num_layers)
        ]
        for block in blocks[:-1]:
            x = block(x, padding_mask=padding_mask, training=training)
        mask_positions = keras.ops.cast(inputs["mask_positions"], "int32")
        rows = keras.ops.concatenate(  # [CLS] first, then the masked rows
            [keras.ops.zeros_like(mask_positions[:, :1]), mask_positions],
            axis=1,
        )
        y = blocks[-1].call_at_positions(
            x, rows, padding_mask=padding_mask, training=training
        )
        pooled = encoder.get_layer("pooler")(y[:, :1, :])
        return {
            "masked_lm": self.masked_lm_head(y[:, 1:, :]),
            "next_sentence": self.next_sentence_head(pooled),
        }

    def compile(
        self,
        optimizer="adamw",
        loss=None,
        metrics=None,
        weighted_metrics=None,
        **kwargs,
    ):
        """Keras `compile` with BERT's pretraining losses as defaults.

        Defaults: the masked-LM loss is a cross-entropy averaged over the
        predictions whose sample weight (`mask_weights`) is non-zero; both
        accuracies are weighted the same way; `jit_compile="auto"` (XLA
        except mixed precision on CPU, `keras_bert_impl.runtime`).
        """
        if loss is None:
            loss = {
                "masked_lm": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True,
                    reduction="mean_with_sample_weight",
                    name="masked_lm_loss",
                ),
                "next_sentence": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, name="next_sentence_loss"
                ),
            }
        if weighted_metrics is None and metrics is None:
            weighted_metrics = {
                "masked_lm": [
                    keras.metrics.SparseCategoricalAccuracy(name="accuracy")
                ],
            }
            metrics = {
                "next_sentence": [
                    keras.metrics.SparseCategoricalAccuracy(name="accuracy")
                ],
            }
        super().compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            **kwargs,
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(
            config["encoder"]
        )
        return cls(**config)
