"""A short NumPy BERT forward pass, written from the paper, for parity tests.

Independent of the package's layers: it takes plain arrays (kernels as
`[in, out]`) and recomputes BERT the obvious way, so a test can copy a
model's weights in and compare outputs (minGPT's "same weights, same
logits"). float64 throughout.
"""

import math

import numpy as np


def gelu(x, approximate=False):
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def bert_forward(params, token_ids, segment_ids, padding_mask, num_heads,
                 eps=1e-12, approximate_gelu=False,
                 skip_embedding_norm=False):  # fmt: skip
    """Returns `(sequence_output, pooled_output)`.

    `params` holds: `word` [V, H], `segment` [S, H], `position` [P, H],
    `emb_ln` (gamma, beta), `layers` (a list of dicts with `q`, `k`, `v`,
    `attn_out`, `inter`, `out` as (kernel [in, out], bias) and `attn_ln`,
    `out_ln` as (gamma, beta)), and `pooler` (kernel, bias).
    """
    p = {k: v for k, v in params.items()}
    batch, seq = token_ids.shape
    x = p["word"][token_ids] + p["segment"][segment_ids] + p["position"][:seq]
    if not skip_embedding_norm:  # (a test of a single block skips it)
        x = layer_norm(x, *p["emb_ln"], eps)
    hidden = x.shape[-1]
    head = hidden // num_heads
    bias = np.where(padding_mask[:, None, None, :] > 0, 0.0, -1e9)
    for layer in p["layers"]:

        def proj(t, name, layer=layer):
            kernel, b = layer[name]
            return t @ kernel + b

        def heads(t):
            return t.reshape(batch, seq, num_heads, head).transpose(0, 2, 1, 3)

        q, k, v = (heads(proj(x, n)) for n in ("q", "k", "v"))
        probs = softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        x = layer_norm(x + proj(context, "attn_out"), *layer["attn_ln"], eps)
        h = gelu(proj(x, "inter"), approximate_gelu)
        x = layer_norm(x + proj(h, "out"), *layer["out_ln"], eps)
    kernel, b = p["pooler"]
    pooled = np.tanh(x[:, 0] @ kernel + b)
    return x, pooled


def params_from_encoder(encoder):
    """Reads a `BertEncoder`'s weights into `bert_forward`'s layout."""

    def arr(w):
        return np.asarray(w, dtype="float64")

    def dense(layer):
        return arr(layer.kernel), arr(layer.bias)

    def norm(layer):
        return arr(layer.gamma), arr(layer.beta)

    emb = encoder.get_layer("embeddings")
    layers = []
    for i in range(encoder.num_layers):
        block = encoder.get_layer(f"transformer_layer_{i}")
        layers.append(
            {
                "q": dense(block.query_dense),
                "k": dense(block.key_dense),
                "v": dense(block.value_dense),
                "attn_out": dense(block.attention_output_dense),
                "inter": dense(block.intermediate_dense),
                "out": dense(block.output_dense),
                "attn_ln": norm(block.attention_layer_norm),
                "out_ln": norm(block.output_layer_norm),
            }
        )
    return {
        "word": arr(emb.token_embedding.embeddings),
        "segment": arr(emb.segment_embedding.embeddings),
        "position": arr(emb.position_embeddings),
        "emb_ln": norm(emb.layer_norm),
        "layers": layers,
        "pooler": dense(encoder.get_layer("pooler").dense),
    }
