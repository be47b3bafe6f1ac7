"""Training: BERT's optimization recipe and the pretraining entry point."""

from keras_bert_impl.training.optimization import WarmupLinearDecay
from keras_bert_impl.training.optimization import create_optimizer
