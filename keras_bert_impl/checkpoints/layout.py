"""The checkpoint layout of BERT: every weight's canonical name and shape.

A checkpoint is read or written as a flat dict from *canonical names* to
arrays. Canonical names are the Keras weight paths of a model built by
`build_encoder` (`embeddings/token_embedding/embeddings`,
`transformer_layer_{i}/query/kernel`, ...) and, for a `BertPretrainer`,
`masked_lm_head/...` and `next_sentence_head/...`; arrays are in Keras
layout (`Dense` kernels `[in, out]`). `hf.py` and `tf1.py` translate
external names to these and back; this module maps them to the variables
of a live model. No TensorFlow import.
"""

# Sublayer attribute of `TransformerEncoderBlock` -> canonical name part.
_BLOCK_DENSES = {
    "query_dense": "query",
    "key_dense": "key",
    "value_dense": "value",
    "attention_output_dense": "attention_output_dense",
    "intermediate_dense": "intermediate_dense",
    "output_dense": "output_dense",
}
_BLOCK_NORMS = ("attention_layer_norm", "output_layer_norm")
TOKEN_EMBEDDING = "embeddings/token_embedding/embeddings"
SEGMENT_EMBEDDING = "embeddings/segment_embedding/embeddings"
POSITION_EMBEDDING = "embeddings/position_embeddings"
POOLER = ("pooler/pooled_dense/kernel", "pooler/pooled_dense/bias")


def expected_shapes(config, with_heads=False, pooler=True):
    """Returns `{canonical name: shape}` of every weight, from a config.

    Args:
        config: `BertConfig`.
        with_heads: bool. Include the masked-LM and next-sentence heads.
        pooler: bool. Include the pooler. Defaults to `True`.

    Returns:
        dict, in the model's weight order (embeddings, blocks, pooler,
        heads).

    Example:
    >>> from keras_bert_impl import BertConfig
    >>> shapes = expected_shapes(BertConfig.preset("tiny"), with_heads=True)
    >>> len(shapes), shapes["transformer_layer_1/intermediate_dense/kernel"]
    (46, (128, 512))
    """
    h, inner = config.hidden_dim, config.intermediate_dim
    shapes = {
        TOKEN_EMBEDDING: (config.vocabulary_size, h),
        SEGMENT_EMBEDDING: (config.num_segments, h),
        POSITION_EMBEDDING: (config.max_sequence_length, h),
        "embeddings/layer_norm/gamma": (h,),
        "embeddings/layer_norm/beta": (h,),
    }
    for i in range(config.num_layers):
        prefix = f"transformer_layer_{i}"
        for name in _BLOCK_DENSES.values():
            fan_in = inner if name == "output_dense" else h
            fan_out = inner if name == "intermediate_dense" else h
            shapes[f"{prefix}/{name}/kernel"] = (fan_in, fan_out)
            shapes[f"{prefix}/{name}/bias"] = (fan_out,)
        for name in _BLOCK_NORMS:
            shapes[f"{prefix}/{name}/gamma"] = (h,)
            shapes[f"{prefix}/{name}/beta"] = (h,)
    if pooler:
        shapes[POOLER[0]] = (h, h)
        shapes[POOLER[1]] = (h,)
    if with_heads:
        shapes.update(
            {
                "masked_lm_head/transform_dense/kernel": (h, h),
                "masked_lm_head/transform_dense/bias": (h,),
                "masked_lm_head/layer_norm/gamma": (h,),
                "masked_lm_head/layer_norm/beta": (h,),
                "masked_lm_head/output_bias": (config.vocabulary_size,),
                "next_sentence_head/dense/kernel": (h, 2),
                "next_sentence_head/dense/bias": (2,),
            }
        )
    return shapes


def model_variables(encoder, pretrainer=None):
    """Returns `{canonical name: keras.Variable}` of a live model.

    Walks the named sublayers (not `Variable.path`, which depends on the
    name scope the model was built in).

    Args:
        encoder: `BertEncoder`.
        pretrainer: optional `BertPretrainer` around `encoder`; its head
            weights are included. The masked-LM output projection is tied
            to the token embedding, so it has no entry of its own.
    """
    embeddings = encoder.get_layer("embeddings")
    variables = {
        TOKEN_EMBEDDING: embeddings.token_embedding.embeddings,
        SEGMENT_EMBEDDING: embeddings.segment_embedding.embeddings,
        POSITION_EMBEDDING: embeddings.position_embeddings,
    }
    _norm(variables, "embeddings/layer_norm", embeddings.layer_norm)
    for i in range(encoder.num_layers):
        block = encoder.get_layer(f"transformer_layer_{i}")
        prefix = f"transformer_layer_{i}"
        for attr, name in _BLOCK_DENSES.items():
            _dense(variables, f"{prefix}/{name}", getattr(block, attr))
        for name in _BLOCK_NORMS:
            _norm(variables, f"{prefix}/{name}", getattr(block, name))
    if encoder.pooler:
        pooled_dense = encoder.get_layer("pooler").dense
        _dense(variables, "pooler/pooled_dense", pooled_dense)
    if pretrainer is not None:
        mlm = pretrainer.masked_lm_head
        _dense(variables, "masked_lm_head/transform_dense", mlm.transform_dense)
        _norm(variables, "masked_lm_head/layer_norm", mlm.layer_norm)
        variables["masked_lm_head/output_bias"] = mlm.output_bias
        _dense(
            variables,
            "next_sentence_head/dense",
            pretrainer.next_sentence_head.dense,
        )
    return variables


def _dense(variables, prefix, layer):
    """Adds a `Dense` layer's kernel and bias."""
    variables[f"{prefix}/kernel"] = layer.kernel
    variables[f"{prefix}/bias"] = layer.bias


def _norm(variables, prefix, layer):
    """Adds a `LayerNormalization` layer's gamma and beta."""
    variables[f"{prefix}/gamma"] = layer.gamma
    variables[f"{prefix}/beta"] = layer.beta
