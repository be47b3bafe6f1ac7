"""BERT models: the encoder backbone, the pretrainer and task models."""

from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.pretrainer import BertPretrainer
