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

from http_writers import post_all


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
    headers = {"Content-Type": "text/plain"}
    if a.auth:
        headers["Authorization"] = "Basic " + base64.b64encode(a.auth.encode()).decode()
    bodies = batches(a.devices, a.rows, a.batch)
    secs = post_all(a.url, bodies, a.writers, headers, lambda status, _: status in (200, 204))
    print(f"{a.rows} rows, {a.devices} devices, {a.batch}-line batches, {a.writers} writers: "
          f"{secs:.2f} s, {a.rows / secs:,.0f} rows/s")


if __name__ == "__main__":
    main()
