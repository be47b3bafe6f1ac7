"""The fine-tuning datasets feed the task models as they are (contract).

One `fit` epoch of each task model on its dataset from the fixtures, then
predictions decoded with this package's decoders and scored.
"""

import numpy as np
import pytest

import keras_bert_impl.models as tasks
from keras_bert_impl import BertConfig
from keras_bert_impl import build_encoder
from keras_bert_impl.data.finetuning import choice_dataset
from keras_bert_impl.data.finetuning import classification_dataset
from keras_bert_impl.data.finetuning import decode_squad
from keras_bert_impl.data.finetuning import ner_dataset
from keras_bert_impl.data.finetuning import squad_dataset
from keras_bert_impl.evaluation import squad_scores
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

DATA = "tests/data/finetune"


def _encoder(tokenizer):
    return build_encoder(
        BertConfig(
            vocabulary_size=tokenizer.vocabulary_size,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            max_sequence_length=32,
        )
    )


def _fit(model, ds):
    # The task's default loss and metrics; XLA off to keep the test short.
    model.compile(jit_compile=False)
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.large
def test_every_task_model_trains_on_its_dataset():
    # The 32-token vocabulary: most fixture words are [UNK], which is
    # enough for the batch formats.
    tok = BertTokenizer("tests/data/vocab/tiny.txt")
    ds = classification_dataset(
        f"{DATA}/pairs.csv", tok, max_seq_length=32, batch_size=5
    )
    model = tasks.BertClassifier(
        _encoder(tok), len(ds.label_map), label_names=ds.label_map.names
    )
    _fit(model, ds)
    x, _ = next(iter(ds))
    assert model(x).shape == (5, 3)

    ds = classification_dataset(
        f"{DATA}/sts.jsonl", tok, max_seq_length=32, regression=True
    )
    _fit(tasks.BertRegressor(_encoder(tok)), ds)

    ds = ner_dataset(f"{DATA}/conll_sample.txt", tok, max_seq_length=24)
    model = tasks.BertTokenClassifier(
        _encoder(tok), len(ds.label_map), label_names=ds.label_map.names
    )
    _fit(model, ds)
    x, _, _ = next(iter(ds))
    assert model(x).shape == (3, 24, 6)

    ds = squad_dataset(
        f"{DATA}/squad_v2_sample.json", tok, max_seq_length=32,
        max_query_length=12, doc_stride=8,
    )  # fmt: skip
    model = tasks.BertQuestionAnswering(_encoder(tok))
    _fit(model, ds)
    out = {"start_logits": [], "end_logits": []}
    for x, _ in ds:
        for k, v in model(x).items():
            out[k].append(np.asarray(v))
    out = {k: np.concatenate(v) for k, v in out.items()}
    predictions, _ = decode_squad(
        ds.examples, ds.windows, out["start_logits"], out["end_logits"]
    )
    gold = {e.qid: e.answer_texts for e in ds.examples}
    assert squad_scores(gold, predictions)["missing"] == 0

    ds = choice_dataset(f"{DATA}/swag_sample.csv", tok, max_seq_length=24)
    model = tasks.BertMultipleChoice(_encoder(tok), num_choices=4)
    _fit(model, ds)
    x, _ = next(iter(ds))
    assert model(x).shape == (3, 4)
