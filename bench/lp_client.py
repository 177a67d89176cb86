#!/usr/bin/env python3
"""Many-device ingest in InfluxDB line protocol, the same bytes to any server.

    python3 bench/lp_client.py --url URL --devices 10000 --rows 1000000 \
        [--batch 5000] [--writers 4] [--auth root:taosdata]

Each batch holds `batch` lines of `batch` different devices, one row each
(the pattern of a fleet reporting a row per tick): device d, tick t ->
`meters,device=d<d>,site=s<d%16> current=<x>,voltage=<y>i <ts>`. Batches
are built before the clock starts; `writers` threads POST them over
keep-alive connections to URL (`.../write?db=bench` for InfluxDB 1.x,
`.../influxdb/v1/write?db=bench` for the tsdb). Prints rows/s.
"""

import argparse
import base64
import http.client
import queue
import threading
import time
import urllib.parse


def batches(devices, rows, batch):
    """Line-protocol bodies of `batch` lines, devices round-robin."""
    base = 1_700_000_000_000_000_000
    out, lines = [], []
    for i in range(rows):
        d, tick = i % devices, i // devices
        lines.append(
            f"meters,device=d{d},site=s{d % 16} current={(d * 7 + tick) % 1000 / 100:.2f},"
            f"voltage={200 + (d + tick) % 40}i {base + tick * 1_000_000_000 + d}\n")
        if len(lines) == batch:
            out.append("".join(lines).encode())
            lines = []
    if lines:
        out.append("".join(lines).encode())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--auth", default=None)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    path = u.path + ("?" + u.query if u.query else "")
    headers = {"Content-Type": "text/plain"}
    if a.auth:
        headers["Authorization"] = "Basic " + base64.b64encode(a.auth.encode()).decode()
    bodies = batches(a.devices, a.rows, a.batch)
    work = queue.Queue()
    for b in bodies:
        work.put(b)
    errors = []

    def writer():
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                conn.request("POST", path, body=body, headers=headers)
                r = conn.getresponse()
                answer = r.read()
                if r.status not in (200, 204):
                    errors.append(f"HTTP {r.status}: {answer[:300]!r}")
                    return
        except OSError as e:
            errors.append(f"{a.url}: {e}")

    started = time.monotonic()
    threads = [threading.Thread(target=writer) for _ in range(a.writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - started
    if errors:
        raise SystemExit(errors[0])
    print(f"{a.rows} rows, {a.devices} devices, {a.batch}-line batches, {a.writers} writers: "
          f"{secs:.2f} s, {a.rows / secs:,.0f} rows/s")


if __name__ == "__main__":
    main()
