"""Keras 3 layers of BERT (arXiv 1810.04805)."""

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.layers.embedding import BertEmbedding
from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock
from keras_bert_impl.layers.masked_lm_head import BertMaskedLMHead
from keras_bert_impl.layers.next_sentence_head import BertNextSentenceHead
from keras_bert_impl.layers.pooler import BertPooler
