"""keras_bert_impl: BERT (Devlin et al. 2018) as a Keras 3 package.

Public names are imported lazily (PEP 562), so `import keras_bert_impl` and
`keras-bert-impl --help` do not load TensorFlow; the first use of a
TensorFlow-backed name does.
"""

import importlib

from keras_bert_impl.config import BertConfig
from keras_bert_impl.version import __version__

# public name -> module that defines it
_LAZY = {
    "BertEmbedding": "keras_bert_impl.layers.embedding",
    "TransformerEncoderBlock": "keras_bert_impl.layers.encoder_block",
    "BertPooler": "keras_bert_impl.layers.pooler",
    "BertMaskedLMHead": "keras_bert_impl.layers.masked_lm_head",
    "BertNextSentenceHead": "keras_bert_impl.layers.next_sentence_head",
    "BertEncoder": "keras_bert_impl.models.encoder",
    "build_encoder": "keras_bert_impl.models.encoder",
    "BertPretrainer": "keras_bert_impl.models.pretrainer",
    "BertClassifier": "keras_bert_impl.models.classifier",
    "BertRegressor": "keras_bert_impl.models.regressor",
    "BertTokenClassifier": "keras_bert_impl.models.token_classifier",
    "BertQuestionAnswering": "keras_bert_impl.models.question_answering",
    "BertMultipleChoice": "keras_bert_impl.models.multiple_choice",
    "FinetuneConfig": "keras_bert_impl.training.finetune",
    "finetune": "keras_bert_impl.training.finetune",
    "run_finetuning": "keras_bert_impl.training.finetune",
    "build_task_model": "keras_bert_impl.training.finetune",
    "load_finetuned": "keras_bert_impl.training.finetune",
    "evaluate_model": "keras_bert_impl.training.evaluate",
    "PretrainingConfig": "keras_bert_impl.training.pretrain",
    "pretrain": "keras_bert_impl.training.pretrain",
    "create_optimizer": "keras_bert_impl.optimizers.recipe",
    "create_finetune_optimizer": "keras_bert_impl.optimizers.recipe",
    "load_checkpoint": "keras_bert_impl.checkpoints.io",
    "save_checkpoint": "keras_bert_impl.checkpoints.io",
    "load_tokenizer": "keras_bert_impl.checkpoints.resolve",
    "load_task_model": "keras_bert_impl.checkpoints.task_models",
    "from_keras_hub": "keras_bert_impl.checkpoints.keras_hub",
    "to_keras_hub": "keras_bert_impl.checkpoints.keras_hub",
    "BertTokenizer": "keras_bert_impl.tokenization.bert_tokenizer",
    "build_vocab": "keras_bert_impl.tokenization.vocab_learning",
    "read_vocab": "keras_bert_impl.tokenization.vocab",
    "write_vocab": "keras_bert_impl.tokenization.vocab",
    "pretraining_dataset": "keras_bert_impl.data.pretraining",
    "LabelMap": "keras_bert_impl.data.labels",
    "classification_dataset": "keras_bert_impl.data.classification",
    "ner_dataset": "keras_bert_impl.data.ner",
    "squad_dataset": "keras_bert_impl.data.squad",
    "choice_dataset": "keras_bert_impl.data.choice",
    "export_savedmodel": "keras_bert_impl.export.serving",
    "AdamW": "keras_bert_impl.optimizers.adamw",
}

__all__ = ["BertConfig", "__version__", *sorted(_LAZY)]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(
            f"module 'keras_bert_impl' has no attribute {name!r}"
        )
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
