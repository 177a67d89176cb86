"""An oracle for profile search, written from TDgpt 3.4's description of it
(`do_profile_search` in app.py): every candidate window (or profile) in
upstream's order, normalised, scored with the `fastdtw` package upstream uses
or cosine similarity, filtered by threshold, ordered best first with ties in
the order met, thinned by the strict-containment rule, cut to `num`.

Brute force on purpose: it scores every candidate and sorts them all, so it
shares nothing with the native streaming top-k but the definition.

Prints one JSON object per line: {"request", "expected"}. Exits 3 when the
venv lacks fastdtw.

    python anode/tests/profile_oracle.py CASES SEED
"""

import json
import sys

try:
    import numpy as np
    from fastdtw import fastdtw
except ImportError as e:
    print(f"fastdtw is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def normalise(x, how):
    x = np.asarray(x, dtype=float)
    if how == "centering":
        return x - x.mean()
    if how == "z-score":
        s = x.std()
        return np.zeros_like(x) if s == 0 else (x - x.mean()) / s
    if how == "min-max":
        lo, hi = x.min(), x.max()
        return np.zeros_like(x) if hi == lo else (x - lo) / (hi - lo)
    return x


def cosine(a, b):
    d = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 0.0 if d == 0 else float(np.dot(a, b) / d)


def candidates(req):
    t = req["target_data"]
    src = req["source_data"]
    src_win = None
    if isinstance(src, dict) and "ts" in src:
        src_win = (src["ts"][0], src["ts"][-1])
    excl = req["result"].get("exclude_source", False) and src_win is not None
    params = req["algo"].get("params", {})
    if isinstance(t["data"][0], list):
        lo, hi = params.get("min_window"), params.get("max_window")
        for prof, (a, b) in zip(t["data"], t["ts"]):
            if (lo is not None and len(prof) < lo) or (hi is not None and len(prof) > hi):
                continue
            if excl and a <= src_win[0] and b >= src_win[1]:
                continue
            yield prof, [a, b], len(prof)
        return
    data, ts = t["data"], t["ts"]
    n = len(data)
    m = len(src["data"] if isinstance(src, dict) else src)
    lo = params.get("min_window", m)
    hi = min(params.get("max_window", m), n)
    for w in range(lo, hi + 1, params.get("window_size_step", 1)):
        for s in range(0, n - w + 1, params.get("window_sliding_step", 1)):
            e = s + w - 1
            if excl and ts[s] <= src_win[0] and ts[e] >= src_win[1]:
                continue
            yield data[s:e + 1], [ts[s], ts[e]], w


def expected(req):
    dtw = req["algo"]["type"] == "dtw"
    how = req.get("normalization", "none")
    src = req["source_data"]
    src = normalise(src["data"] if isinstance(src, dict) else src, how)
    radius = req["algo"].get("params", {}).get("radius", 1)
    thr = req["result"].get("threshold")
    scored = []
    for seq, (vals, win, num) in enumerate(candidates(req)):
        c = normalise(vals, how)
        crit = float(fastdtw(src, c, radius=radius)[0]) if dtw else cosine(src, c)
        if thr is not None and ((dtw and crit > thr) or (not dtw and crit < thr)):
            continue
        scored.append(((crit if dtw else -crit, seq), {"criteria": crit, "ts_window": win, "num": num}))
    scored.sort(key=lambda x: x[0])
    limit = req["result"].get("num", 500)
    out = []
    for _, m in scored:
        if len(out) >= limit:
            break
        if dtw and req["result"].get("exclude_contained"):
            def inside(i, o):
                return o[0] <= i[0] and o[1] >= i[1] and (o[0] < i[0] or o[1] > i[1])
            if any(inside(m["ts_window"], k["ts_window"]) or inside(k["ts_window"], m["ts_window"]) for k in out):
                continue
        out.append(m)
    return {"rows": len(out), "metric_type": "dtw_distance" if dtw else "cosine_similarity", "matches": out}


def main():
    cases, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(seed)
    for _ in range(cases):
        n = int(rng.choice([30, 120, 400]))
        base = np.cumsum(rng.normal(0, 1, n))
        if rng.integers(0, 3) == 0:
            base = np.round(base)  # ties in the scores
        ts = [1_700_000_000_000 + 1000 * i for i in range(n)]
        m = int(rng.integers(3, 12))
        start = int(rng.integers(0, n - m))
        algo = str(rng.choice(["dtw", "cosine"]))
        params = {}
        if algo == "dtw":
            params["radius"] = int(rng.integers(1, 4))
            if rng.integers(0, 2):
                params["min_window"] = max(1, m - int(rng.integers(0, 3)))
                params["max_window"] = m + int(rng.integers(0, 3))
                params["window_size_step"] = int(rng.integers(1, 3))
        params["window_sliding_step"] = int(rng.integers(1, 4))
        result = {}
        if rng.integers(0, 3) == 0:
            # thresholds off the values ties land on (0, integers): a score a
            # rounding away from one is not a disagreement about the rule
            result["threshold"] = float(rng.choice([0.5, 2.5, 5.5])) if algo == "dtw" else float(rng.choice([0.05, 0.8]))
        else:
            result["num"] = int(rng.choice([1, 3, 10, 50]))
        result["exclude_source"] = bool(rng.integers(0, 2))
        if algo == "dtw" and rng.integers(0, 2):
            result["exclude_contained"] = True
        source = {"data": [float(v) for v in base[start:start + m]], "ts": ts[start:start + m]}
        if rng.integers(0, 4) == 0:
            # a list of profiles with [start, end] windows
            k = int(rng.integers(2, 40))
            data, wins = [], []
            for _ in range(k):
                s = int(rng.integers(0, n - m))
                length = m if algo == "cosine" else int(rng.integers(max(1, m - 2), m + 3))
                length = min(length, n - s)
                if algo == "cosine" and length != m:
                    continue
                data.append([float(v) for v in base[s:s + length]])
                wins.append([ts[s], ts[s + length - 1]])
            if not data:
                continue
            target = {"ts": wins, "data": data}
            params.pop("min_window", None)
            params.pop("max_window", None)
            params.pop("window_size_step", None)
        else:
            target = {"ts": ts, "data": [float(v) for v in base]}
        req = {
            "normalization": str(rng.choice(["none", "min-max", "z-score", "centering"])),
            "algo": {"type": algo, "params": params},
            "result": result,
            "source_data": source,
            "target_data": target,
        }
        print(json.dumps({"request": req, "expected": expected(req)}))


if __name__ == "__main__":
    main()
