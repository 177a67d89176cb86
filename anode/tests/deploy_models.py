"""Trains the scikit-learn models that anode/tests/python.rs deploys, and
prints (one JSON object) the inputs it sends and the answers it expects.

Usage: deploy_models.py OUT_DIR SEED. The pkl files go to OUT_DIR. The
expected answers are computed here with scikit-learn directly, and the
window features of the iforest model by a plain loop written from
upstream's description (algo/dynamic/detector.py), not by the bridge's code.
"""

import json
import sys

import joblib
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.svm import OneClassSVM
from sklearn.tree import DecisionTreeClassifier

out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
cases = {}

# regression: y = 3 x1 - 2 x2 + 1 + noise
X = rng.normal(size=(200, 2))
y = 3 * X[:, 0] - 2 * X[:, 1] + 1 + rng.normal(scale=0.1, size=200)
Xq = rng.normal(size=(25, 2))
lin = LinearRegression().fit(X, y)
joblib.dump(lin, f"{out}/lin.pkl")
cases["lin"] = {"x": Xq.T.tolist(), "want": lin.predict(Xq).tolist()}

# ridge behind a pipeline dict: NaN of column 1 filled with 0.5, then standardised
center, scale = X.mean(axis=0), X.std(axis=0)
ridge = Ridge(alpha=0.5).fit((X - center) / (scale + 1e-8), y)
joblib.dump({"model": ridge, "pipeline": {"fill_values": {1: 0.5}, "center": center.tolist(),
                                          "scale": scale.tolist()}}, f"{out}/ridge.pkl")
Xr = Xq.copy()
Xr[[2, 7], 1] = np.nan
filled = Xr.copy()
filled[np.isnan(filled[:, 1]), 1] = 0.5
cases["ridge"] = {"x": [[None if np.isnan(v) else v for v in c] for c in Xr.T.tolist()],
                  "want": ridge.predict((filled - center) / (scale + 1e-8)).tolist()}

# polynomial: a scikit-learn Pipeline, y = x^2 - x
x1 = rng.uniform(-3, 3, size=(100, 1))
poly = make_pipeline(PolynomialFeatures(2), LinearRegression()).fit(x1, x1[:, 0] ** 2 - x1[:, 0])
xq = rng.uniform(-3, 3, size=(10, 1))
joblib.dump(poly, f"{out}/poly.pkl")
cases["poly"] = {"x": xq.T.tolist(), "want": poly.predict(xq).tolist()}

# classification: integer labels, and string labels from a tree
labels = (X[:, 0] + X[:, 1] > 0).astype(int)
logit = LogisticRegression().fit(X, labels)
joblib.dump(logit, f"{out}/logit.pkl")
cases["logit"] = {"x": Xq.T.tolist(), "want": logit.predict(Xq).tolist()}
names = np.where(X[:, 0] > 0.3, "high", "low")
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, names)
joblib.dump({"model": tree, "pipeline": {}}, f"{out}/tree.pkl")
cases["tree"] = {"x": Xq.T.tolist(), "want": tree.predict(Xq).tolist()}

# one-class SVM on two columns (val, val1), point mode
normal = rng.normal(size=(300, 2))
svm = OneClassSVM(nu=0.05, gamma=0.5).fit(normal)
joblib.dump(svm, f"{out}/svm.pkl")
P = rng.normal(size=(40, 2))
P[[5, 6, 30]] = [[6.0, 6.0], [-5.0, 7.0], [8.0, -6.0]]
cases["svm"] = {"x": P.T.tolist(), "want": svm.predict(P).tolist()}


# isolation forest over windows of a sine: mean, std and slope per window
def windows(series, size, stride, fns):
    n = len(series)
    starts = list(range(0, n - size + 1, stride))
    if starts[-1] != n - size:
        starts.append(n - size)
    rows = []
    for s in starts:
        w = series[s:s + size]
        feats = []
        for fn in fns:
            if fn == "mean":
                feats.append(float(np.mean(w)))
            elif fn == "std":
                feats.append(float(np.std(w)))
            else:
                feats.append(float(np.polyfit(np.arange(size, dtype=float), w, 1)[0]))
        rows.append(feats)
    return starts, np.array(rows)


size, stride, fns = 12, 4, ["mean", "std", "slope"]
train = np.sin(np.arange(2000) * 2 * np.pi / 24) + rng.normal(scale=0.05, size=2000)
_, F = windows(train, size, stride, fns)
forest = IsolationForest(n_estimators=100, contamination=0.01, random_state=seed).fit(F)
joblib.dump({"model": forest, "pipeline": {"mode": "window", "window_size": size, "stride": stride,
                                           "feature_fns": fns}}, f"{out}/ifw.pkl")
series = np.sin(np.arange(240) * 2 * np.pi / 24) + rng.normal(scale=0.05, size=240)
series[100:112] += 4.0
starts, G = windows(series, size, stride, fns)
codes = [1] * len(series)
for s, p in zip(starts, forest.predict(G)):
    if p == -1:
        for j in range(s, s + size):
            codes[j] = -1
cases["ifw"] = {"x": [series.tolist()], "want": codes}

# files that must be refused
joblib.dump({"model": 42}, f"{out}/nopredict.pkl")
joblib.dump([1, 2, 3], f"{out}/list.pkl")
with open(f"{out}/garbage.pkl", "wb") as f:
    f.write(b"not a pickle at all")

print(json.dumps({"dir": out, "cases": cases}))
