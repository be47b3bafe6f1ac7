"""`python -m keras_bert_impl.cli`: the `keras-bert-impl` command."""

from keras_bert_impl.cli import console_main

if __name__ == "__main__":
    console_main()
