"""An oracle for the golden-batch tool, written from TDgpt 3.4's description
(`/api/v1/analysis/batch`) with numpy and scipy (`interp1d`,
`savgol_filter`), and the symmetric Hampel neighbourhood the native tool
documents. Prints one JSON object per line: {"request", "expected"}.

    python anode/tests/batch_oracle.py CASES SEED
"""

import json
import sys

import numpy as np
from scipy.interpolate import interp1d
from scipy.signal import savgol_filter


def hampel(v, w, sigma):
    out = v.copy()
    for i in range(len(v)):
        win = v[max(i - w, 0):min(i + w + 1, len(v))]
        med = np.median(win)
        mad = 1.4826 * np.median(np.abs(win - med))
        if mad != 0 and abs(v[i] - med) > sigma * mad:
            out[i] = med
    return out


def expected(req):
    cfg = req["config"]
    ts, data = np.array(req["ts"], dtype=float), np.array(req["data"], dtype=float)
    batches = []
    for start, end in req["window"]:
        m = (ts >= start) & (ts <= end)
        t, v = ts[m], data[m]
        if len(v) < 10:
            continue
        if cfg["hampel"]["active"]:
            v = hampel(v, cfg["hampel"]["window_size"], cfg["hampel"]["sigma"])
        if cfg["derivative"]["active"]:
            rate = np.zeros_like(v)
            rate[1:] = np.diff(v) / np.diff(t)
            keep = np.abs(rate) <= cfg["derivative"]["max_rate"]
            keep[0] = True
            t, v = t[keep], v[keep]
        x = (t - t.min()) / (t.max() - t.min())
        kind = "cubic" if cfg["normalize"]["method"] == "cubic" and len(v) >= 4 else "linear"
        grid = np.linspace(0, 1, cfg["normalize"]["target_len"])
        r = interp1d(x, v, kind=kind, fill_value="extrapolate")(grid)
        if cfg["savgol"]["active"]:
            r = savgol_filter(r, cfg["savgol"]["window"], cfg["savgol"]["polyorder"])
        batches.append(r)
    if not batches:
        return {"rows": 0, "center": [], "lower": [], "upper": []}
    b = np.array(batches)
    g = cfg["golden"]
    if g["method"] == "mean_std":
        c, s = b.mean(axis=0), b.std(axis=0)
        lo, hi = c - g["n_std"] * s, c + g["n_std"] * s
    else:
        c = np.median(b, axis=0)
        lo = np.percentile(b, g["lower_percentile"], axis=0)
        hi = np.percentile(b, g["upper_percentile"], axis=0)
    return {"rows": int(lo.size), "center": c.tolist(), "lower": lo.tolist(), "upper": hi.tolist()}


def main():
    cases, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(seed)
    for _ in range(cases):
        runs = int(rng.integers(1, 8))
        ts, data, windows = [], [], []
        t = 0
        for _ in range(runs):
            n = int(rng.integers(5, 120))
            steps = rng.integers(5, 15, n)  # uneven sampling, ms
            tt = t + np.cumsum(steps)
            shape = np.sin(np.linspace(0, 3, n)) * 10 + rng.normal(0, 0.3, n)
            spikes = rng.choice(n, max(1, n // 30), replace=False)
            shape[spikes] += rng.choice([-40, 40], spikes.size)
            ts += [int(v) for v in tt]
            data += [float(v) for v in np.round(shape, 4)]
            windows.append([int(tt[0]), int(tt[-1])])
            t = int(tt[-1]) + 100
        w = int(rng.choice([5, 7, 9, 11]))
        cfg = {
            "hampel": {"window_size": int(rng.integers(1, 8)), "sigma": float(rng.choice([2, 3])), "active": bool(rng.integers(0, 4))},
            "derivative": {"max_rate": float(rng.choice([1.0, 5.0, 50.0])), "active": bool(rng.integers(0, 2))},
            "normalize": {"target_len": int(rng.choice([20, 100, 1000])), "method": str(rng.choice(["linear", "cubic"]))},
            "savgol": {"window": w, "polyorder": int(rng.integers(0, 4)), "active": bool(rng.integers(0, 4))},
            "golden": {"method": str(rng.choice(["median_percentile", "mean_std"])),
                       "lower_percentile": float(rng.choice([5, 10, 25])), "upper_percentile": float(rng.choice([75, 90])),
                       "n_std": float(rng.choice([1, 2, 3]))},
        }
        req = {"ts": ts, "data": data, "window": windows, "config": cfg}
        print(json.dumps({"request": req, "expected": expected(req)}))


if __name__ == "__main__":
    main()
