"""`sample_ad_model`: anomaly detection with a trained model file.

Upstream's sample is a Keras autoencoder; ours is its linear counterpart, a
PCA autoencoder over sliding windows, stored as a plain `.npz` file (no
pickle) so that no deep-learning stack is needed. The model is chosen with
`model=<name>` and read from `<model-dir>/sample-ad-autoencoder/<name>.npz`
(`python/train_sample_ad_model.py` trains the shipped one).

Detection, as upstream's sample: z = (x - mean) / std; every window of
`timesteps` values is reconstructed; a window is anomalous when its mean
absolute reconstruction error exceeds the model's threshold; a point is an
anomaly when every window containing it is anomalous.
"""

import os

import numpy as np

from taosanalytics.service import AbstractAnomalyDetectionService
from taosanalytics.util import resolve_model_path

MODEL_SUBDIR = "sample-ad-autoencoder"
MODEL_SUFFIX = ".npz"
_cache = {}


def load_model(path):
    """The model arrays, cached per file and modification time."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        raise ValueError(f"failed to load model: {os.path.basename(path)} not found in model-dir") from None
    hit = _cache.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    with np.load(path, allow_pickle=False) as f:
        model = {k: f[k] for k in ("mean", "std", "center", "components", "threshold", "timesteps")}
    _cache[path] = (stamp, model)
    return model


class _SampleAdModelService(AbstractAnomalyDetectionService):
    name = "sample_ad_model"
    desc = "sample anomaly detection model based on auto encoder"

    def __init__(self):
        super().__init__()
        self.model_name = None

    def set_params(self, params):
        super().set_params(params)
        self.model_name = (params or {}).get("model")
        if not self.model_name:
            raise ValueError("model needs to be specified")

    def get_params(self):
        return {"dir": MODEL_SUBDIR + "/*", "model": "sample-ad-autoencoder"}

    def execute(self):
        path = resolve_model_path(self.model_name, subdir=MODEL_SUBDIR, suffix=MODEL_SUFFIX)
        m = load_model(path)
        steps = int(m["timesteps"])
        x = np.asarray(self.list, dtype=float)
        if len(x) < steps:
            raise ValueError("input data is too short")
        z = (x - float(m["mean"])) / float(m["std"])
        windows = np.lib.stride_tricks.sliding_window_view(z, steps)
        centred = windows - m["center"]
        recon = centred @ m["components"].T @ m["components"] + m["center"]
        mae = np.mean(np.abs(recon - windows), axis=1)
        bad = mae > float(m["threshold"])
        # point i is in windows max(0, i-steps+1) ..= min(i, n-steps)
        n = len(x)
        out = []
        for i in range(n):
            lo, hi = max(0, i - steps + 1), min(i, n - steps)
            out.append(-1 if bad[lo:hi + 1].all() else 1)
        return out
