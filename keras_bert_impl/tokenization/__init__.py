"""WordPiece tokenization (`BertTokenizer`) and vocabularies (`vocab.py`).

Import the modules directly, or use the lazy names of `keras_bert_impl`
(`BertTokenizer`, `build_vocab`, `read_vocab`, `write_vocab`).
"""
