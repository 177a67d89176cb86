#!/usr/bin/env python3
"""Train the sample anomaly-detection model shipped in models/.

    .venv/bin/python python/train_sample_ad_model.py [--out models]

Normal behaviour: a daily cycle (period 24) with noise, seeded so that the
result is reproducible. The model is a PCA autoencoder over windows of
`timesteps` values; the threshold is the largest reconstruction error seen on
the training data, so only behaviour unlike training is flagged.
"""

import argparse
import os

import numpy as np

TIMESTEPS = 12
COMPONENTS = 3
SEED = 20241007


def normal_series(n, rng):
    t = np.arange(n)
    return 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1.0, n)


def train(x):
    mean, std = float(x.mean()), float(x.std())
    z = (x - mean) / std
    windows = np.lib.stride_tricks.sliding_window_view(z, TIMESTEPS)
    center = windows.mean(axis=0)
    _, _, vt = np.linalg.svd(windows - center, full_matrices=False)
    components = vt[:COMPONENTS]
    recon = (windows - center) @ components.T @ components + center
    mae = np.mean(np.abs(recon - windows), axis=1)
    return {"mean": np.float64(mean), "std": np.float64(std), "center": center,
            "components": components, "threshold": np.float64(mae.max()),
            "timesteps": np.int64(TIMESTEPS)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models")
    args = ap.parse_args()
    model = train(normal_series(5000, np.random.default_rng(SEED)))
    folder = os.path.join(args.out, "sample-ad-autoencoder")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "sample-ad-autoencoder.npz")
    np.savez(path, **model)
    print(f"wrote {path}: timesteps {TIMESTEPS}, threshold {float(model['threshold']):.6f}")


if __name__ == "__main__":
    main()
