import json
import subprocess
import sys

import pytest

from keras_bert_impl import BertConfig


class TestBertConfig:
    def test_defaults_are_bert_base(self):
        assert BertConfig() == BertConfig.preset("base")

    @pytest.mark.parametrize(
        "name, layers, hidden, heads",
        [
            ("tiny", 2, 128, 2),
            ("mini", 4, 256, 4),
            ("small", 4, 512, 8),
            ("medium", 8, 512, 8),
            ("base", 12, 768, 12),
            ("large", 24, 1024, 16),
        ],
    )
    def test_presets(self, name, layers, hidden, heads):
        cfg = BertConfig.preset(name)
        assert (cfg.num_layers, cfg.hidden_dim, cfg.num_heads) == (
            layers,
            hidden,
            heads,
        )
        assert cfg.intermediate_dim == 4 * hidden

    def test_preset_overrides(self):
        cfg = BertConfig.preset("tiny", vocabulary_size=100)
        assert cfg.vocabulary_size == 100 and cfg.num_layers == 2

    def test_unknown_preset(self):
        with pytest.raises(
            ValueError, match="Unknown BertConfig preset 'huge'"
        ):
            BertConfig.preset("huge")

    def test_json_round_trip(self, tmp_path):
        cfg = BertConfig.preset("mini", hidden_activation="gelu_approximate")
        assert BertConfig.from_json(cfg.to_json()) == cfg
        path = tmp_path / "cfg.json"
        cfg.to_json(path)
        assert BertConfig.from_json(path) == cfg
        assert json.loads(path.read_text())["hidden_dim"] == 256

    def test_frozen(self):
        cfg = BertConfig()
        with pytest.raises(AttributeError):
            cfg.hidden_dim = 3

    @pytest.mark.parametrize(
        "changes, field",
        [
            ({"hidden_dim": 100, "num_heads": 12}, "divisible by num_heads"),
            ({"num_layers": 0}, "num_layers"),
            ({"vocabulary_size": -1}, "vocabulary_size"),
            ({"hidden_dim": 7.5}, "hidden_dim"),
            ({"num_heads": True}, "num_heads"),
            ({"dropout": 1.0}, "dropout"),
            ({"attention_dropout": -0.1}, "attention_dropout"),
            ({"layer_norm_epsilon": 0}, "layer_norm_epsilon"),
            ({"initializer_range": -1}, "initializer_range"),
            ({"hidden_activation": "swish"}, "hidden_activation"),
            ({"max_sequence_length": 0}, "max_sequence_length"),
            ({"num_segments": 0}, "num_segments"),
            ({"intermediate_dim": 0}, "intermediate_dim"),
        ],
    )
    def test_invalid_values_name_the_field(self, changes, field):
        with pytest.raises(ValueError, match=field):
            BertConfig().replace(**changes)

    def test_unknown_key_rejected(self):
        with pytest.raises(ValueError, match="hidden_size_typo"):
            BertConfig.from_dict({"hidden_size_typo": 3})

    def test_reads_hugging_face_config(self):
        hf = {
            "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
            "architectures": ["BertModel"],
            "attention_probs_dropout_prob": 0.1,
            "gradient_checkpointing": False,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": 384,
            "initializer_range": 0.02,
            "intermediate_size": 1536,
            "layer_norm_eps": 1e-12,
            "max_position_embeddings": 512,
            "model_type": "bert",
            "num_attention_heads": 12,
            "num_hidden_layers": 6,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "transformers_version": "4.8.2",
            "type_vocab_size": 2,
            "use_cache": True,
            "vocab_size": 30522,
        }
        cfg = BertConfig.from_json(json.dumps(hf))
        assert cfg == BertConfig(
            hidden_dim=384,
            num_layers=6,
            num_heads=12,
            intermediate_dim=1536,
        )
        assert BertConfig.from_hf_dict(cfg.to_hf_dict()) == cfg

    def test_hf_unsupported_architecture(self):
        with pytest.raises(ValueError, match="position_embedding_type"):
            BertConfig.from_hf_dict(
                {
                    "model_type": "bert",
                    "position_embedding_type": "relative_key",
                }
            )
        with pytest.raises(ValueError, match="model_type='roberta'"):
            BertConfig.from_hf_dict({"model_type": "roberta"})
        with pytest.raises(ValueError, match="Unknown key 'embedding_size'"):
            BertConfig.from_hf_dict({"model_type": "bert", "embedding_size": 8})

    def test_reads_google_bert_config(self):
        google = {
            "attention_probs_dropout_prob": 0.1,
            "directionality": "bidi",
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": 768,
            "initializer_range": 0.02,
            "intermediate_size": 3072,
            "max_position_embeddings": 512,
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
            "pooler_fc_size": 768,
            "pooler_num_attention_heads": 12,
            "pooler_num_fc_layers": 3,
            "pooler_size_per_head": 128,
            "pooler_type": "first_token_transform",
            "type_vocab_size": 2,
            "vocab_size": 21128,
        }
        cfg = BertConfig.from_json(json.dumps(google))
        # Google's "gelu" is the tanh approximation.
        assert cfg.hidden_activation == "gelu_approximate"
        assert cfg.vocabulary_size == 21128
        for act in ("gelu", "gelu_approximate"):
            c = cfg.replace(hidden_activation=act)
            assert BertConfig.from_google_dict(c.to_google_dict()) == c

    def test_google_rejects_non_default_epsilon(self):
        with pytest.raises(ValueError, match="layer_norm_epsilon"):
            BertConfig(layer_norm_epsilon=1e-5).to_google_dict()

    def test_missing_file(self):
        with pytest.raises(ValueError, match="No such config file or preset"):
            BertConfig.from_json("/nonexistent/config.json")

    def test_no_tensorflow_import(self):
        code = (
            "import sys, keras_bert_impl as k; k.BertConfig.preset('base');"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True
        )
        assert out.stdout.strip() == "False False", out.stderr
