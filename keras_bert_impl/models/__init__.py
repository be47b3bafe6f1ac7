"""BERT models: the encoder backbone, the pretrainer and the task models.

Importing this package registers every model class, the optimizer and the
schedule, so `keras.saving.load_model` reads any `.keras` file of ours.
"""

import keras_bert_impl.optimizers  # noqa: F401
from keras_bert_impl.models.classifier import BertClassifier
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.multiple_choice import BertMultipleChoice
from keras_bert_impl.models.pretrainer import BertPretrainer
from keras_bert_impl.models.question_answering import BertQuestionAnswering
from keras_bert_impl.models.regressor import BertRegressor
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.token_classifier import BertTokenClassifier
