"""SavedModel export for TF Serving: the tokenizer inside the graph.

`export_savedmodel` writes `savedmodels/<name>/<version>/`;
`predict_savedmodel` runs raw text through such an export and
`predict_rows` is what `keras-bert-impl predict --savedmodel` prints.
TensorFlow is imported by the modules that need it, not here.
"""

from keras_bert_impl.export.predict import predict_rows
from keras_bert_impl.export.predict import predict_savedmodel
from keras_bert_impl.export.serving import export_savedmodel
