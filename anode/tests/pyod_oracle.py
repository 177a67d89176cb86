"""PyOD as the oracle of the native ecod, copod, hbos and pca detectors.

Generates deterministic cases (shapes, distributions with ties and planted
outliers, options across their ranges), fits PyOD's detector on each exactly
as upstream TDgpt 3.4 does (`pyod_util.fit_predict`: columns as a 2-D array,
`labels_`), and prints one JSON object per line:
{"algo", "option", "columns", "labels", "sign_tie"}. Run by anode/tests/pyod.rs with the
venv's Python; exits 3 when PyOD is not installed.

    python anode/tests/pyod_oracle.py CASES_PER_ALGO SEED
"""

import json
import sys

try:
    import numpy as np
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.pca import PCA
except ImportError as e:  # the test reports the skip
    print(f"pyod is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def column(rng, rows, kind):
    if kind == "normal":
        x = rng.normal(50, 10, rows)
    elif kind == "lognormal":
        x = rng.lognormal(1.0, 0.8, rows)
    elif kind == "uniform":
        x = rng.uniform(-5, 5, rows)
    elif kind == "integers":
        x = rng.integers(0, 30, rows).astype(float)
    elif kind == "sine":
        x = 10 * np.sin(np.arange(rows) * 2 * np.pi / 24) + rng.normal(0, 1, rows)
    else:  # "steps": few distinct values
        x = rng.choice([1.0, 2.0, 2.5, 7.0], rows)
    # planted outliers on a few rows
    k = max(1, rows // 50)
    idx = rng.choice(rows, k, replace=False)
    x[idx] += rng.choice([-1, 1], k) * (np.abs(x).max() + 1) * rng.uniform(1, 4, k)
    return np.round(x, 3)


def main():
    cases, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(seed)
    kinds = ["normal", "lognormal", "uniform", "integers", "sine", "steps"]
    for algo in ["ecod", "copod", "hbos", "pca"]:
        for _ in range(cases):
            rows = int(rng.choice([10, 17, 50, 200, 1000, 4000]))
            ncols = int(rng.choice([1, 1, 2, 3, 5]))
            cols = [column(rng, rows, str(rng.choice(kinds))) for _ in range(ncols)]
            contamination = float(rng.choice([0.01, 0.05, 0.1, 0.2, 0.5]))
            option = f"contamination={contamination}"
            if algo == "ecod":
                det = ECOD(contamination=contamination)
            elif algo == "copod":
                det = COPOD(contamination=contamination)
            elif algo == "hbos":
                # PyOD refuses 2 (its check excludes the bound; see docs/anode.md)
                bins = int(rng.choice([3, 5, 10, 50]))
                option += f",n_bins={bins}"
                det = HBOS(contamination=contamination, n_bins=bins)
            else:
                choice = rng.choice(["none", "count", "ratio"])
                nc = None
                if choice == "count":
                    nc = int(rng.integers(1, min(rows, ncols) + 1))
                    option += f",n_components={nc}"
                elif choice == "ratio":
                    nc = float(rng.choice([0.5, 0.9]))
                    option += f",n_components={nc}"
                std = bool(rng.integers(0, 2))
                option += f",standardization={int(std)}"
                det = PCA(contamination=contamination, n_components=nc, standardization=std)
            X = np.array(cols, dtype=float).T
            with np.errstate(all="ignore"):
                det.fit(X)
            # An axis whose two largest |entries| are equal (two standardised
            # columns: (1, ±1)/√2) gets its sign from LAPACK's last-digit
            # noise through svd_flip; PyOD's answer is then arbitrary.
            tie = False
            if algo == "pca":
                for row in np.abs(det.components_):
                    top = np.sort(row)[::-1]
                    if len(top) > 1 and top[0] - top[1] < 1e-9:
                        tie = True
            print(json.dumps({
                "algo": algo,
                "option": option,
                "columns": [c.tolist() for c in cols],
                "labels": [int(v) for v in det.labels_],
                "sign_tie": tie,
            }))


if __name__ == "__main__":
    main()
