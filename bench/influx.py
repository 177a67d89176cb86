#!/usr/bin/env python3
"""The tsdb workloads against InfluxDB 1.6 (bench/tsdb-vs-influx.sh runs it).

    python3 bench/influx.py --url http://127.0.0.1:18086 [--rows N] [--tables N]

Same shapes as tsdb/benches/workload.rs: 5,000-line batches from 4 writer
threads (line protocol, ms precision), 10 M points into one series and 1 M
points over 10,000 series; then mean per 1 minute over the 10 M points,
count, max, and last per series. Batches are built before the clock starts,
so the generator's speed is not measured. Only the standard library.
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse

BATCH = 5000
WRITERS = 4
BASE = 1_599_999_960_000  # 2020-09-13 12:26:00 UTC, as the tsdb bench


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=600)


def query(url, db, q):
    c = conn(url)
    c.request("GET", "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ms"}))
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"query failed ({r.status}): {q}: {body[:300]!r}")
    return json.loads(body)


def write_all(url, db, batches):
    def worker(mine):
        c = conn(url)
        for b in mine:
            c.request("POST", f"/write?db={db}&precision=ms", body=b)
            r = c.getresponse()
            r.read()
            if r.status != 204:
                raise SystemExit(f"write failed: {r.status}")
    threads = [threading.Thread(target=worker, args=(batches[i::WRITERS],)) for i in range(WRITERS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def timed(f):
    t0 = time.perf_counter()
    r = f()
    return r, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:18086")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--tables", type=int, default=10_000)
    ap.add_argument("--table-rows", type=int, default=1_000_000)
    a = ap.parse_args()
    url, db = a.url, "bench"
    query(url, "", f"CREATE DATABASE {db}")
    out = []

    batches = []
    for start in range(0, a.rows, BATCH):
        n = min(BATCH, a.rows - start)
        batches.append("\n".join(
            f"m,tbl=t v={(start + i) % 1000}i,w={(start + i) % 97}.5 {BASE + (start + i) * 1000}"
            for i in range(n)).encode())
    secs = write_all(url, db, batches)
    out.append(("REST ingest, 1 table, 4 writers", f"{a.rows / secs / 1e6:.2f} M rows/s"))
    del batches

    end = BASE + a.rows * 1000
    r, s = timed(lambda: query(url, db, f"SELECT mean(v) FROM m WHERE tbl='t' AND time >= {BASE}ms AND time < {end}ms GROUP BY time(1m)"))
    windows = len(r["results"][0]["series"][0]["values"])
    out.append((f"interval(1m) avg over {a.rows} rows ({windows} windows)", f"{s * 1e3:.0f} ms"))
    _, s = timed(lambda: query(url, db, "SELECT count(v) FROM m WHERE tbl='t'"))
    out.append(("count(*)", f"{s * 1e3:.0f} ms"))
    _, s = timed(lambda: query(url, db, "SELECT max(v) FROM m WHERE tbl='t'"))
    out.append(("max(v)", f"{s * 1e3:.0f} ms"))

    per = max(1, a.table_rows // a.tables)
    lines = [f"st,id={t} v={i}i,w={t}.5 {BASE + i * 1000}" for t in range(a.tables) for i in range(per)]
    batches = ["\n".join(lines[k:k + BATCH]).encode() for k in range(0, len(lines), BATCH)]
    secs = write_all(url, db, batches)
    out.append((f"REST ingest, {len(lines)} rows over {a.tables} child tables", f"{len(lines) / secs / 1e6:.2f} M rows/s"))
    r, s = timed(lambda: query(url, db, "SELECT last(v) FROM st GROUP BY id"))
    out.append((f"last_row over {len(r['results'][0].get('series', []))} child tables", f"{s * 1e3:.0f} ms"))

    for k, v in out:
        print(f"{k:<60} {v}")


if __name__ == "__main__":
    main()
