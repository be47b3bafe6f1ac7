"""Optimizer and learning-rate schedule (Keras only: no TensorFlow code).

Both are registered Keras serializables; `keras_bert_impl.models` imports
this package, so a compiled `.keras` file of any model of the package
loads with its optimizer once a model class has been imported.
"""

from keras_bert_impl.optimizers.adamw import AdamW
from keras_bert_impl.optimizers.schedules import WarmupLinearDecay
