"""Optimizers (no dependency beyond Keras: models/ and training/ use them)."""

from keras_bert_impl.optimizers.adamw import AdamW
