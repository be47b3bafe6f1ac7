"""Input pipelines: corpora → NSP sentence pairs → dynamic masking."""

from keras_bert_impl.data.corpus import read_documents
from keras_bert_impl.data.corpus import resolve_files
from keras_bert_impl.data.corpus import split_sentences
from keras_bert_impl.data.masking import MaskedLMMasker
from keras_bert_impl.data.pairs import SentencePairGenerator
from keras_bert_impl.data.pretraining import pretraining_dataset
