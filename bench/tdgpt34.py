"""TDgpt 3.4's new analyses, ours against the Python they replace, on the
same inputs in one run (driven by bench/tdgpt34.sh).

- ecod, copod, hbos, iforest, pca on 1,000 and 40,000 rows of 1 and 3
  columns: PyOD 2.0.5's fit (what upstream's `pyod_util.fit_predict` runs)
  in this process, against a request to our anode over HTTP (which adds
  JSON parsing and the HTTP round trip to the kernel);
- profile search, dtw, a 100-point source over a 100,000-point target
  (upstream's limits; 9,991 windows at a sliding step of 10): the `fastdtw`
  package scoring every window in Python — what upstream's implementation
  spends its time in — against our endpoint.

Times are the median of RUNS runs, alternating ours and Python's; request
bodies are encoded once, before timing, and PyOD's numba kernels are compiled
before timing too (in the parent, which the timed children are forked from). Memory: the
Python side's peak RSS growth during the fit (a forked child per case) and
the anode's peak RSS (VmHWM) after all cases.

    python bench/tdgpt34.py http://127.0.0.1:PORT ANODE_PID
"""

import json
import os
import resource
import statistics
import sys
import time
import urllib.request

import numpy as np

RUNS = int(os.environ.get("RUNS", "5"))


def series(rows, cols, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    out = []
    for c in range(cols):
        x = 10 * np.sin(2 * np.pi * t / 24 + c) + rng.normal(0, 1, rows)
        idx = rng.choice(rows, max(1, rows // 100), replace=False)
        x[idx] += rng.choice([-15, 15], idx.size)
        out.append(np.round(x, 4))
    return out


def post(url, path, body):
    """POSTs `body` (bytes are sent as they are: encode once, outside the timing)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        answer = json.loads(r.read())
    if answer.get("rows", 0) == -1:
        raise RuntimeError(f"{path}: {answer}")
    return answer


def pyod_fit(algo, cols):
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest
    from pyod.models.pca import PCA
    make = {"ecod": ECOD, "copod": COPOD, "hbos": HBOS, "pca": PCA,
            "iforest": lambda **k: IForest(n_estimators=100, random_state=42, **k)}[algo]
    X = np.asarray(cols, dtype=float).T
    det = make(contamination=0.1)
    det.fit(X)
    return det.labels_


def in_child(fn):
    """(seconds, peak RSS growth in MB) of fn() in a forked child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        os.write(w, json.dumps([dt, grew]).encode())
        os._exit(0)
    os.close(w)
    data = os.read(r, 4096)
    os.waitpid(pid, 0)
    return json.loads(data)


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    url, anode_pid = sys.argv[1], int(sys.argv[2])
    # warm both sides: imports, numba's compilation of HBOS, connections
    pyod_fit("hbos", series(100, 1, 0))
    print("| detector | rows × columns | PyOD 2.0.5 fit, ms | ours over HTTP, ms | ratio | PyOD peak RSS growth, MB |")
    print("|---|---|---|---|---|---|")
    for rows in (1000, 40000):
        for ncols in (1, 3):
            cols = series(rows, ncols, rows + ncols)
            ts = list(range(1_700_000_000_000, 1_700_000_000_000 + 1000 * rows, 1000))
            schema = [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]] + [[f"val{i}", "DOUBLE", 8] for i in range(1, ncols)]
            body = {"schema": schema, "data": [ts] + [c.tolist() for c in cols], "wncheck": 0, "rows": rows}
            for algo in ("ecod", "copod", "hbos", "iforest", "pca"):
                body["algo"] = algo
                encoded = json.dumps(body).encode()
                # numba compiles PyOD's kernels per array layout on first use:
                # compile in this process so the forked children inherit them
                pyod_fit(algo, cols)
                post(url, "/anomaly-detect", encoded)
                ours, theirs, grew = [], [], []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    post(url, "/anomaly-detect", encoded)
                    ours.append(time.perf_counter() - t0)
                    dt, g = in_child(lambda: pyod_fit(algo, cols))
                    theirs.append(dt)
                    grew.append(g)
                o, p = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
                print(f"| {algo} | {rows:,} × {ncols} | {p:.1f} | {o:.1f} | {p / o:.1f}× | {max(grew):.0f} |", flush=True)
    print()
    print(f"anode peak RSS after the detectors: {vm_hwm(anode_pid):.0f} MB")
    print()

    from fastdtw import fastdtw
    rng = np.random.default_rng(3)
    target = np.cumsum(rng.normal(0, 1, 100_000))
    src = target[50_000:50_100] + rng.normal(0, 0.1, 100)
    ts = list(range(100_000))
    req = {"normalization": "z-score",
           "algo": {"type": "dtw", "params": {"radius": 1, "window_sliding_step": 10}},
           "result": {"num": 10},
           "source_data": src.tolist(),
           "target_data": {"ts": ts, "data": target.tolist()}}

    def python_search():
        def z(a):
            s = a.std()
            return np.zeros_like(a) if s == 0 else (a - a.mean()) / s
        s = z(src)
        scores = []
        for start in range(0, 100_000 - 100 + 1, 10):
            d, _ = fastdtw(s, z(target[start:start + 100]), radius=1)
            scores.append((d, start))
        scores.sort()
        return scores[:10]

    encoded = json.dumps(req).encode()
    fastdtw(src[:10], src[:10], radius=1)
    ours, theirs, grew = [], [], []
    for _ in range(max(1, RUNS // 2)):
        t0 = time.perf_counter()
        answer = post(url, "/api/v1/analysis/profile-search", encoded)
        ours.append(time.perf_counter() - t0)
        dt, g = in_child(python_search)
        theirs.append(dt)
        grew.append(g)
    best = answer["matches"][0]
    o, p = statistics.median(ours), statistics.median(theirs)
    print("| profile search | Python (fastdtw per window), s | ours over HTTP, s | ratio | Python peak RSS growth, MB |")
    print("|---|---|---|---|---|")
    print(f"| dtw, 100-point source, 100,000-point target, 9,991 windows | {p:.2f} | {o:.3f} | {p / o:.0f}× | {max(grew):.0f} |")
    print()
    print(f"best match {best['ts_window']} (planted at [50000, 50099]), criteria {best['criteria']:.3f}")
    print(f"anode peak RSS after everything: {vm_hwm(anode_pid):.0f} MB")


if __name__ == "__main__":
    main()
