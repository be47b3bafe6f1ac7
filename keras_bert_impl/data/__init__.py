"""Input pipelines: corpora → NSP sentence pairs → dynamic masking."""

from keras_bert_impl.data.corpus import CorpusStats
from keras_bert_impl.data.corpus import DocumentAssembler
from keras_bert_impl.data.corpus import read_documents
from keras_bert_impl.data.corpus import split_sentences
from keras_bert_impl.data.mask_values_chooser import MaskValuesChooser
from keras_bert_impl.data.masking import MaskedLMMasker
from keras_bert_impl.data.pairs import SentencePairGenerator
from keras_bert_impl.data.pretraining import default_max_predictions
from keras_bert_impl.data.pretraining import pretraining_dataset
from keras_bert_impl.data.pretraining import sentence_pair_dataset
from keras_bert_impl.data.pretraining import write_document_cache
from keras_bert_impl.data.token_selector import RandomTokenSelector
from keras_bert_impl.paths import resolve_files
