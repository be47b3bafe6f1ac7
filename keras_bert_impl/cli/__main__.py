"""`python -m keras_bert_impl.cli`, the same as `keras-bert-impl`."""

import sys

from keras_bert_impl.cli import main

sys.exit(main())
