"""WordPiece tokenization: `BertTokenizer`, the packer, vocabularies.

Modules: `bert_tokenizer` (the in-graph tokenizer), `packing` (the one
`[CLS] A [SEP] B [SEP]` packer), `vocab` (read / validate / write
`vocab.txt`), `vocab_learning` (`build_vocab`), `char_classes` (the
reference's character classes). Import the modules directly, or use the
lazy names of `keras_bert_impl` (`BertTokenizer`, `build_vocab`,
`read_vocab`, `write_vocab`).
"""
