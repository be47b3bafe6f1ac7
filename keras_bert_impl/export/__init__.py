"""SavedModel export for TF Serving: the tokenizer inside the graph.

`export_savedmodel` writes `savedmodels/<name>/<version>/`;
`predict_savedmodel` runs raw text through such an export (and
`run_savedmodel` is `keras-bert-impl predict --savedmodel`). TensorFlow is
imported by the modules that need it, not here.
"""

from keras_bert_impl.export.predict import predict_savedmodel
from keras_bert_impl.export.predict import run_savedmodel
from keras_bert_impl.export.serving import export_savedmodel
