"""Optimizers, schedules and BERT's optimization recipe (Keras only).

`AdamW` (torch's epsilon placement) and `WarmupLinearDecay` are
registered Keras serializables; `keras_bert_impl.models` imports this
package, so a compiled `.keras` file of any model of the package loads
with its optimizer once a model class has been imported. `recipe.py`
builds them with the paper's settings.
"""

from keras_bert_impl.optimizers.adamw import AdamW
from keras_bert_impl.optimizers.recipe import DECAY_EXCLUDED_NAMES
from keras_bert_impl.optimizers.recipe import OPTIMIZERS
from keras_bert_impl.optimizers.recipe import create_finetune_optimizer
from keras_bert_impl.optimizers.recipe import create_optimizer
from keras_bert_impl.optimizers.recipe import default_finetuning_optimizer
from keras_bert_impl.optimizers.recipe import warmup_steps_for
from keras_bert_impl.optimizers.schedules import WarmupLinearDecay
