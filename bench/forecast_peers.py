#!/usr/bin/env python3
"""The peers of `anode backtest`: statsforecast's AutoARIMA, AutoETS, AutoTheta
and AutoCES (season told), on the same shipped series, origins and horizons,
scored the same way (MASE against the in-sample seasonal naive, sMAPE, 95 %
coverage, time per fit). Run by bench/forecast.sh inside .venv-bench.

usage: forecast_peers.py DATA_DIR [--folds N] [--models a,b] [--csv PATH] [--timeout S]

Each fit runs in a forked child and is stopped after --timeout seconds
(default 300): statsforecast's AutoARIMA takes over 10 minutes on the
half-hourly series with a season of 48. A stopped fit counts as failed, its
time as the timeout.
"""
import argparse
import csv
import multiprocessing as mp
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta  # noqa: E402

# name, season, horizon: the same table as anode/src/backtest.rs
SERIES = [
    ("airpassengers", 12, 12), ("wineind", 12, 12), ("woolyrnq", 4, 8),
    ("taylor", 48, 48), ("lynx", 1, 8), ("sunspots", 1, 10), ("ausbeer", 4, 8),
    ("austres", 4, 8), ("heartrate", 1, 20), ("co2", 52, 24), ("nile", 1, 10),
    ("elnino", 12, 12),
]

MODELS = {
    "statsforecast AutoARIMA, period": lambda m: AutoARIMA(season_length=m),
    "statsforecast AutoETS, period": lambda m: AutoETS(season_length=m),
    "statsforecast AutoTheta, period": lambda m: AutoTheta(season_length=m),
    "statsforecast AutoCES, period": lambda m: AutoCES(season_length=m),
}


def load(path):
    with open(path) as f:
        return np.array([float(l) for l in f if l.strip() and not l.startswith("#")])


def fit_in_child(key, m, train, h, q):
    try:
        out = MODELS[key](m).forecast(y=train, h=h, level=[95])
        q.put((out["mean"], out["lo-95"], out["hi-95"]))
    except Exception as e:  # a peer's failure is a result too
        q.put(str(e))


def fit(key, m, train, h, timeout):
    """(mean, lo, hi) or an error string, from a forked child."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=fit_in_child, args=(key, m, train, h, q))
    p.start()
    try:
        return q.get(timeout=timeout)
    except Exception:
        return f"stopped after {timeout} s"
    finally:
        p.kill()
        p.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--folds", type=int, default=1)
    ap.add_argument("--models", default="")
    ap.add_argument("--csv")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    chosen = [k for k in MODELS if not a.models or any(w in k for w in a.models.split(","))]
    rows = []
    # warm numba's compilation up so the first timed fit is not charged for it
    for k in chosen:
        MODELS[k](4).forecast(y=np.sin(np.arange(40.0)) + 10, h=2, level=[95])
    for name, m, h in SERIES:
        y = load(os.path.join(a.data, name + ".csv"))
        for fold in range(a.folds):
            origin = len(y) - h * (fold + 1)
            if origin < 2 * max(h, m):
                continue
            train, test = y[:origin], y[origin:origin + h]
            lag = m if m >= 2 and len(train) > m else 1
            scale = np.mean(np.abs(train[lag:] - train[:-lag]))
            for k in chosen:
                t0 = time.perf_counter()
                out = fit(k, m, train, h, a.timeout)
                ms = (time.perf_counter() - t0) * 1e3
                if isinstance(out, str):
                    rows.append((name, k, fold, float("nan"), float("nan"), float("nan"), ms, out))
                else:
                    f, lo, hi = out
                    mase = np.mean(np.abs(f - test)) / scale
                    smape = np.mean(200 * np.abs(f - test) / np.maximum(np.abs(f) + np.abs(test), 1e-12))
                    cov = np.mean((lo <= test) & (test <= hi))
                    rows.append((name, k, fold, mase, smape, cov, ms, ""))
                print(f"{name:<14} {k:<34} fold {fold} MASE {rows[-1][3]:.3f} {ms:.1f} ms", file=sys.stderr)
    print("| configuration | MASE | sMAPE % | 95% coverage | median ms | max ms | failed |")
    print("|---|---|---|---|---|---|---|")
    for k in chosen:
        r = [x for x in rows if x[1] == k]
        ok = [x for x in r if not x[7]]
        ms = sorted(x[6] for x in r)
        print(f"| {k} | {np.mean([x[3] for x in ok]):.3f} | {np.mean([x[4] for x in ok]):.2f} | "
              f"{np.mean([x[5] for x in ok]):.3f} | {ms[len(ms) // 2]:.1f} | {ms[-1]:.1f} | {len(r) - len(ok)} |")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["series", "configuration", "fold", "mase", "smape", "coverage", "millis", "error"])
            w.writerows(rows)


if __name__ == "__main__":
    main()
