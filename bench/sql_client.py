#!/usr/bin/env python3
"""Ingest through SQL INSERTs over /rest/sql: many devices, or one table.

    python3 bench/sql_client.py --url http://127.0.0.1:6041 [--tables 10000]
        [--rows 1000000] [--batch 5000] [--writers 4]

With --tables N > 1 each statement is `batch` clauses of one row each
(`insert into bench.d<k> using bench.meters tags (<k>) values (ts, v)
...`: the many-device pattern, tables created by the first round); with
--tables 1 it is one clause of `batch` rows. Statements are built before
the clock starts; `writers` threads POST them on keep-alive connections.
Prints rows/s.
"""

import argparse
import base64

from http_writers import post_all


def statements(tables, rows, batch):
    base = 1_700_000_000_000
    out, parts = [], []
    for i in range(rows):
        k, tick = i % tables, i // tables
        v = f"{(k * 7 + tick) % 1000 / 100:.2f}"
        if tables == 1:
            parts.append(f"({base + tick},{v})")
        else:
            parts.append(f"bench.d{k} using bench.meters tags ({k}) values ({base + tick * 1000},{v})")
        if len(parts) == batch:
            out.append(parts)
            parts = []
    if parts:
        out.append(parts)
    if tables == 1:
        return [("insert into bench.t values " + " ".join(p)).encode() for p in out]
    return [("insert into " + " ".join(p)).encode() for p in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--tables", type=int, default=10000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--auth", default="root:taosdata")
    a = ap.parse_args()
    headers = {"Authorization": "Basic " + base64.b64encode(a.auth.encode()).decode()}
    url = a.url.rstrip("/") + "/rest/sql"

    def ok(status, answer):
        return status == 200 and b'"code":0' in answer

    setup = [b"create database if not exists bench",
             b"create stable if not exists bench.meters (ts timestamp, v double) tags (k int)",
             b"create table if not exists bench.t (ts timestamp, v double)"]
    post_all(url, setup, 1, headers, ok)
    bodies = statements(a.tables, a.rows, a.batch)
    secs = post_all(url, bodies, a.writers, headers, ok)
    shape = f"{a.tables} tables" if a.tables > 1 else "1 table"
    print(f"{a.rows} rows, {shape}, {a.batch}-row statements, {a.writers} writers: "
          f"{secs:.2f} s, {a.rows / secs:,.0f} rows/s")


if __name__ == "__main__":
    main()
