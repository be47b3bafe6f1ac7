"""Fine-tuning inputs: labelled files → `(features, labels)` for `fit`.

One import for every task reader (each lives in its own module):

- `classification_dataset` (classify, pair, regress; `classification.py`):
  labels int32 `(batch,)`, or float32 for regression;
- `ner_dataset`, `ner_files_dataset` (`ner.py`): labels int32
  `(batch, L)` and a third element, `sample_weight` float32 `(batch, L)`;
- `squad_dataset`, `squad_files_dataset` (`squad.py`): labels
  `{"start_logits": int32 (batch,), "end_logits": int32 (batch,)}`;
- `choice_dataset` (`choice.py`): features `(batch, num_choices, L)`,
  labels int32 `(batch,)`.

`features` is always a dict of int32 `token_ids`, `segment_ids` and
`padding_mask` (1 = real token) padded to `max_seq_length` (static shapes:
an XLA-compiled model compiles once). Every dataset carries `label_map`
(where the task has labels) and `num_examples` as attributes. Which
reader a task uses is in `keras_bert_impl.tasks`.

Example (token classification: a word's label sits on its first
WordPiece, the other pieces weigh 0; extractive QA: `[CLS] question [SEP]
context [SEP]`, the answer's first and last context tokens as labels):
>>> from keras_bert_impl import BertTokenizer
>>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
...                      "who", "is", "new", "york", "big", "##ger", "?"])
>>> s = NerSentence(["New", "York", "is", "bigger"],
...                 ["B-LOC", "I-LOC", "O", "O"])
>>> ds = ner_dataset([s], tok, max_seq_length=8)
>>> ds.label_map.names
('O', 'B-LOC', 'I-LOC')
>>> x, y, w = next(iter(ds))
>>> x["token_ids"].numpy().tolist()
[[2, 7, 8, 6, 9, 10, 3, 0]]
>>> y.numpy().tolist(), w.numpy().tolist()
([[0, 1, 2, 0, 0, 0, 0, 0]], [[0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
>>> ex = SquadExample("q1", "Who is bigger?", "New York is bigger",
...                   answers=[("New York", 0)])
>>> ds = squad_dataset([ex], tok, max_seq_length=14, max_query_length=5)
>>> x, y = next(iter(ds))
>>> x["token_ids"].numpy().tolist()
[[2, 5, 6, 9, 10, 11, 3, 7, 8, 6, 9, 10, 3, 0]]
>>> x["segment_ids"].numpy().tolist()
[[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0]]
>>> y["start_logits"].numpy().tolist(), y["end_logits"].numpy().tolist()
([7], [8])
"""

from keras_bert_impl.data.choice import choice_dataset
from keras_bert_impl.data.choice import read_choice
from keras_bert_impl.data.classification import classification_dataset
from keras_bert_impl.data.classification import read_classification
from keras_bert_impl.data.labels import LabelMap
from keras_bert_impl.data.ner import NerSentence
from keras_bert_impl.data.ner import align_words
from keras_bert_impl.data.ner import decode_word_labels
from keras_bert_impl.data.ner import ner_dataset
from keras_bert_impl.data.ner import ner_files_dataset
from keras_bert_impl.data.ner import read_conll
from keras_bert_impl.data.ner import read_ner_files
from keras_bert_impl.data.ner import read_peoples_daily
from keras_bert_impl.data.ner import word_entities
from keras_bert_impl.data.squad import SquadExample
from keras_bert_impl.data.squad import SquadWindows
from keras_bert_impl.data.squad import decode_squad
from keras_bert_impl.data.squad import read_squad
from keras_bert_impl.data.squad import squad_dataset
from keras_bert_impl.data.squad import squad_files_dataset
from keras_bert_impl.data.squad import squad_windows

__all__ = [
    "LabelMap",
    "NerSentence",
    "SquadExample",
    "SquadWindows",
    "align_words",
    "choice_dataset",
    "classification_dataset",
    "decode_squad",
    "decode_word_labels",
    "ner_dataset",
    "ner_files_dataset",
    "read_choice",
    "read_classification",
    "read_conll",
    "read_ner_files",
    "read_peoples_daily",
    "read_squad",
    "squad_dataset",
    "squad_files_dataset",
    "squad_windows",
    "word_entities",
]
