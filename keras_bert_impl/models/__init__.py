"""BERT models: the encoder backbone, the pretrainer and task models."""

# Importing this package registers every model class, the optimizer and the
# schedule, so `keras.saving.load_model` reads any `.keras` file of ours.
import keras_bert_impl.optimizers  # noqa: F401
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.pretrainer import BertPretrainer
from keras_bert_impl.models.tasks import BertClassifier
from keras_bert_impl.models.tasks import BertMultipleChoice
from keras_bert_impl.models.tasks import BertQuestionAnswering
from keras_bert_impl.models.tasks import BertRegressor
from keras_bert_impl.models.tasks import BertTokenClassifier
