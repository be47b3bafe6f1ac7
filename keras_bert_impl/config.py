"""`BertConfig`: the hyperparameters of a BERT encoder.

Plain Python, no TensorFlow import, so the CLI and config validation stay
fast. Field names follow the package glossary (`hidden_dim`, `num_layers`,
...); Hugging Face (`config.json`) and original Google (`bert_config.json`)
names are mapped only in `from_hf_dict` / `from_google_dict` and their
inverses.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805. Turc et al., "Well-Read
    Students Learn Better", arXiv 1908.08962 (the small-model grid).
"""

import dataclasses
import json
import os
from typing import Any

ACTIVATIONS = ("gelu", "gelu_approximate", "relu", "tanh")
"""`gelu` is the exact erf form; `gelu_approximate` the tanh form used by the
original TensorFlow code."""

_PRESETS = {
    # name: (num_layers, hidden_dim, num_heads); intermediate = 4 * hidden.
    "tiny": (2, 128, 2),
    "mini": (4, 256, 4),
    "small": (4, 512, 8),
    "medium": (8, 512, 8),
    "base": (12, 768, 12),
    "large": (24, 1024, 16),
}

# Hugging Face `config.json` name -> ours.
_HF_NAMES = {
    "vocab_size": "vocabulary_size",
    "hidden_size": "hidden_dim",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_dim",
    "hidden_act": "hidden_activation",
    "hidden_dropout_prob": "dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "max_position_embeddings": "max_sequence_length",
    "type_vocab_size": "num_segments",
    "initializer_range": "initializer_range",
    "layer_norm_eps": "layer_norm_epsilon",
}
# Keys of a Hugging Face config that do not change a BERT encoder's weights
# or forward pass (generic `PretrainedConfig` keys, task-head metadata, and
# the unused pooler fields of the Google-converted Chinese configs).
_HF_IGNORED = frozenset(
    """architectures model_type transformers_version torch_dtype dtype
    gradient_checkpointing use_cache pad_token_id bos_token_id eos_token_id
    sep_token_id cls_token_id classifier_dropout id2label label2id
    num_labels problem_type finetuning_task directionality pooler_fc_size
    pooler_num_attention_heads pooler_num_fc_layers pooler_size_per_head
    pooler_type output_hidden_states output_attentions return_dict
    torchscript tie_word_embeddings output_past tokenizer_class prefix
    task_specific_params chunk_size_feed_forward pruned_heads
    is_encoder_decoder tf_legacy_loss use_bfloat16 tie_encoder_decoder
    max_length min_length do_sample early_stopping num_beams
    num_beam_groups diversity_penalty temperature top_k top_p
    typical_p repetition_penalty length_penalty no_repeat_ngram_size
    encoder_no_repeat_ngram_size bad_words_ids num_return_sequences
    output_scores return_dict_in_generate forced_bos_token_id
    forced_eos_token_id remove_invalid_values
    exponential_decay_length_penalty suppress_tokens
    begin_suppress_tokens decoder_start_token_id xla_device
    embedding_size_equals_hidden_size""".split()
)
# Keys whose non-default values describe an architecture this package does
# not implement: value the encoder needs -> error if different.
_HF_REQUIRED = {
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
}
_HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
    "tanh": "tanh",
}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Hyperparameters of a BERT encoder (validated on construction).

    Args:
        vocabulary_size: int. Number of WordPiece ids. Defaults to `30522`.
        hidden_dim: int. Width of every hidden vector. Defaults to `768`.
        num_layers: int. Transformer encoder blocks. Defaults to `12`.
        num_heads: int. Attention heads; must divide `hidden_dim`. Defaults
            to `12`.
        intermediate_dim: int. Feed-forward inner width. Defaults to `3072`.
        hidden_activation: str. `"gelu"` (exact erf form, the default),
            `"gelu_approximate"` (tanh form of the original TF code),
            `"relu"` or `"tanh"`.
        dropout: float. Dropout on embeddings and residual branches.
            Defaults to `0.1`.
        attention_dropout: float. Dropout on attention probabilities.
            Defaults to `0.1`.
        max_sequence_length: int. Learned positions. Defaults to `512`.
        num_segments: int. Segment (token type) ids. Defaults to `2`.
        initializer_range: float. Stddev of the truncated-normal
            initializer. Defaults to `0.02`.
        layer_norm_epsilon: float. Defaults to `1e-12`.

    Raises:
        ValueError: a field has an invalid value; the message names it.

    Example:
    >>> cfg = BertConfig.preset("tiny")
    >>> cfg.num_layers, cfg.hidden_dim, cfg.num_heads
    (2, 128, 2)
    >>> BertConfig.from_json(cfg.to_json()) == cfg
    True
    """

    vocabulary_size: int = 30522
    hidden_dim: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_dim: int = 3072
    hidden_activation: str = "gelu"
    dropout: float = 0.1
    attention_dropout: float = 0.1
    max_sequence_length: int = 512
    num_segments: int = 2
    initializer_range: float = 0.02
    layer_norm_epsilon: float = 1e-12

    def __post_init__(self):
        for name in (
            "vocabulary_size",
            "hidden_dim",
            "num_layers",
            "num_heads",
            "intermediate_dim",
            "max_sequence_length",
            "num_segments",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(
                    f"BertConfig.{name} must be an integer. Received: "
                    f"{name}={value!r}"
                )
            if value <= 0:
                raise ValueError(
                    f"BertConfig.{name} must be positive. Received: "
                    f"{name}={value}"
                )
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                "BertConfig.hidden_dim must be divisible by num_heads. "
                f"Received: hidden_dim={self.hidden_dim}, "
                f"num_heads={self.num_heads}"
            )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value < 1:
                raise ValueError(
                    f"BertConfig.{name} must be a float in [0, 1). "
                    f"Received: {name}={value!r}"
                )
        for name in ("initializer_range", "layer_norm_epsilon"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(
                    f"BertConfig.{name} must be a positive float. "
                    f"Received: {name}={value!r}"
                )
        if self.hidden_activation not in ACTIVATIONS:
            raise ValueError(
                "BertConfig.hidden_activation must be one of "
                f"{ACTIVATIONS}. Received: "
                f"hidden_activation={self.hidden_activation!r}"
            )

    # ----------------------------------------------------------------- presets
    @classmethod
    def presets(cls) -> tuple[str, ...]:
        """Names accepted by `BertConfig.preset`."""
        return tuple(_PRESETS)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "BertConfig":
        """Returns a named configuration, with optional field overrides.

        `base` and `large` are the paper's; `tiny`, `mini`, `small` and
        `medium` are the released small-model grid (2/128, 4/256, 4/512,
        8/512; heads = hidden / 64, intermediate = 4 × hidden).

        Raises:
            ValueError: unknown preset name or unknown override field.
        """
        if name not in _PRESETS:
            raise ValueError(
                f"Unknown BertConfig preset {name!r}. Choose one of "
                f"{', '.join(_PRESETS)}, or pass a JSON file."
            )
        num_layers, hidden_dim, num_heads = _PRESETS[name]
        fields = {
            "num_layers": num_layers,
            "hidden_dim": hidden_dim,
            "num_heads": num_heads,
            "intermediate_dim": 4 * hidden_dim,
        }
        fields.update(overrides)
        return cls.from_dict(fields)

    # ------------------------------------------------------------ dict / JSON
    def to_dict(self) -> dict[str, Any]:
        """Returns the fields as a plain dict (JSON-serializable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "BertConfig":
        """Builds a config from our own field names; unknown keys raise."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown BertConfig field(s) {unknown}. Known fields: "
                f"{sorted(known)}"
            )
        return cls(**config)

    def replace(self, **changes: Any) -> "BertConfig":
        """Returns a copy with some fields changed (validated again)."""
        return self.from_dict({**self.to_dict(), **changes})

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Returns the JSON text; also writes it to `path` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> "BertConfig":
        """Reads our JSON, a Hugging Face `config.json` or a `bert_config.json`.

        `source` is a path or a JSON string. The format is detected from the
        keys: our field names, Hugging Face's (`model_type`,
        `layer_norm_eps`, ...) or the original Google ones.
        """
        text = str(source)
        if not text.lstrip().startswith("{"):
            if not os.path.isfile(text):
                raise ValueError(
                    f"No such config file or preset: {text!r}. Pass a "
                    f"preset name ({', '.join(_PRESETS)}), a path to a JSON "
                    "config, or the JSON text itself."
                )
            with open(text, encoding="utf-8") as f:
                text = f.read()
        try:
            config = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"BertConfig.from_json: invalid JSON in {source!s:.200}: {e}"
            ) from None
        if not isinstance(config, dict):
            raise ValueError(
                "BertConfig.from_json expects a JSON object. Received: "
                f"{type(config).__name__}"
            )
        return cls.from_any_dict(config)

    @classmethod
    def from_any_dict(cls, config: dict[str, Any]) -> "BertConfig":
        """Dispatches to `from_dict`, `from_hf_dict` or `from_google_dict`."""
        ours = {f.name for f in dataclasses.fields(cls)}
        if set(config) <= ours:
            return cls.from_dict(config)
        if "model_type" in config or "layer_norm_eps" in config:
            return cls.from_hf_dict(config)
        return cls.from_google_dict(config)

    # ------------------------------------------------------ Hugging Face names
    @classmethod
    def from_hf_dict(cls, config: dict[str, Any]) -> "BertConfig":
        """Reads a Hugging Face `BertConfig` dict (`config.json`).

        Generic Hugging Face keys that do not affect the encoder are
        ignored; anything else unknown raises, and so does an architecture
        switch this package does not implement (relative positions, decoder).
        """
        model_type = config.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(
                "Only BERT checkpoints can be read. Received: "
                f"model_type={model_type!r}"
            )
        fields = {}
        for key, value in config.items():
            if key in _HF_NAMES:
                fields[_HF_NAMES[key]] = value
            elif key in _HF_REQUIRED:
                if value != _HF_REQUIRED[key]:
                    raise ValueError(
                        f"Unsupported Hugging Face config value {key}="
                        f"{value!r}; this package implements BERT with "
                        f"{key}={_HF_REQUIRED[key]!r}."
                    )
            elif key not in _HF_IGNORED and not key.startswith("_"):
                raise ValueError(
                    f"Unknown key {key!r} in the Hugging Face config. If it "
                    "does not change the model, remove it from config.json."
                )
        act = fields.get("hidden_activation", "gelu")
        if act not in _HF_ACTIVATIONS:
            raise ValueError(
                f"Unsupported Hugging Face hidden_act={act!r}. Supported: "
                f"{sorted(_HF_ACTIVATIONS)}"
            )
        fields["hidden_activation"] = _HF_ACTIVATIONS[act]
        return cls.from_dict(fields)

    def to_hf_dict(
        self, architecture: str = "BertForPreTraining"
    ) -> dict[str, Any]:
        """Returns a Hugging Face `config.json` dict.

        `architecture` names the Hugging Face class the weights belong to
        (`"BertModel"` for a bare encoder, `"BertForPreTraining"` with the
        pretraining heads).
        """
        ours_to_hf = {v: k for k, v in _HF_NAMES.items()}
        config = {ours_to_hf[k]: v for k, v in self.to_dict().items()}
        config["hidden_act"] = {
            "gelu": "gelu",
            "gelu_approximate": "gelu_new",
        }.get(self.hidden_activation, self.hidden_activation)
        config.update(
            architectures=[architecture],
            model_type="bert",
            pad_token_id=0,
            position_embedding_type="absolute",
        )
        return dict(sorted(config.items()))

    # ------------------------------------------------- original Google names
    @classmethod
    def from_google_dict(cls, config: dict[str, Any]) -> "BertConfig":
        """Reads an original Google `bert_config.json` dict.

        Google's `"gelu"` is the tanh approximation, so it maps to
        `"gelu_approximate"` unless the file carries `"gelu_approximate":
        false` (written by `to_google_dict` for an exact-GELU model). The
        original code has a fixed LayerNorm epsilon of 1e-12.
        """
        google = {k: v for k, v in _HF_NAMES.items() if k != "layer_norm_eps"}
        fields = {}
        approximate = config.get("gelu_approximate", True)
        for key, value in config.items():
            if key in google:
                fields[google[key]] = value
            elif key in (
                "gelu_approximate",
                "directionality",
            ) or key.startswith("pooler_"):
                continue
            else:
                raise ValueError(
                    f"Unknown key {key!r} in bert_config.json. Known keys: "
                    f"{sorted(google)}"
                )
        act = fields.get("hidden_activation", "gelu")
        if act == "gelu":
            act = "gelu_approximate" if approximate else "gelu"
        fields["hidden_activation"] = act
        return cls.from_dict(fields)

    def to_google_dict(self) -> dict[str, Any]:
        """Returns an original Google `bert_config.json` dict."""
        if self.layer_norm_epsilon != 1e-12:
            raise ValueError(
                "The original BERT code has a fixed LayerNorm epsilon of "
                "1e-12; this model uses layer_norm_epsilon="
                f"{self.layer_norm_epsilon}. Save it with format='hf'."
            )
        ours_to_google = {v: k for k, v in _HF_NAMES.items()}
        config = {
            ours_to_google[k]: v
            for k, v in self.to_dict().items()
            if k != "layer_norm_epsilon"
        }
        if self.hidden_activation.startswith("gelu"):
            config["hidden_act"] = "gelu"
            config["gelu_approximate"] = (
                self.hidden_activation == "gelu_approximate"
            )
        return dict(sorted(config.items()))
