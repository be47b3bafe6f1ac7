"""Writes `adamw_reference.npz`: `torch.optim.AdamW` on fixed gradients.

The independent reference for `keras_bert_impl.optimizers.AdamW`. Run with
torch's CPU build (not a CI dependency):

    pip install torch==2.13.0
    python tests/data/make_adamw_reference.py

Three parameters (a matrix with weight decay, a bias and a LayerNorm-like
vector without) take 8 steps of AdamW (lr 1e-3, betas 0.9 / 0.999, eps
1e-6, weight decay 0.01) on seeded gradients whose sizes span 1e-8 to 1:
gradients near epsilon are where Keras' and PyTorch's placements of
epsilon differ. Saved: the initial values, every step's gradients, and the
values after every step.
"""

import os

import numpy as np
import torch

STEPS = 8
SHAPES = {"kernel": (4, 3), "bias": (3,), "gamma": (5,)}
DECAYED = ("kernel",)


def main():
    rng = np.random.RandomState(0)
    init = {k: rng.randn(*s).astype("float32") for k, s in SHAPES.items()}
    # Per-element gradient sizes from 1e-8 to 1, fixed per element.
    scale = {
        k: (10.0 ** rng.uniform(-8, 0, s)).astype("float32")
        for k, s in SHAPES.items()
    }
    grads = {
        k: np.stack(
            [rng.randn(*s).astype("float32") * scale[k] for _ in range(STEPS)]
        )
        for k, s in SHAPES.items()
    }
    params = {
        k: torch.nn.Parameter(torch.from_numpy(v.copy()))
        for k, v in init.items()
    }
    decayed = [params[k] for k in SHAPES if k in DECAYED]
    plain = [params[k] for k in SHAPES if k not in DECAYED]
    opt = torch.optim.AdamW(
        [
            {"params": decayed, "weight_decay": 0.01},
            {"params": plain, "weight_decay": 0.0},
        ],
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-6,
    )
    after = {k: [] for k in SHAPES}
    for t in range(STEPS):
        for k, p in params.items():
            p.grad = torch.from_numpy(grads[k][t].copy())
        opt.step()
        for k, p in params.items():
            after[k].append(p.detach().numpy().copy())
    out = {}
    for k in SHAPES:
        out[f"{k}_init"] = init[k]
        out[f"{k}_grads"] = grads[k]
        out[f"{k}_after"] = np.stack(after[k])
    path = os.path.join(os.path.dirname(__file__), "adamw_reference.npz")
    np.savez(path, torch_version=np.array(torch.__version__), **out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
