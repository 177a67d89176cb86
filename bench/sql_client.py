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
import http.client
import queue
import threading
import time
import urllib.parse


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
    u = urllib.parse.urlsplit(a.url)
    headers = {"Authorization": "Basic " + base64.b64encode(a.auth.encode()).decode()}

    def post(conn, body):
        conn.request("POST", "/rest/sql", body=body, headers=headers)
        r = conn.getresponse()
        answer = r.read()
        if r.status != 200 or b'"code":0' not in answer:
            raise SystemExit(f"HTTP {r.status}: {answer[:300]!r}")

    setup = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    for sql in ["create database if not exists bench",
                "create stable if not exists bench.meters (ts timestamp, v double) tags (k int)",
                "create table if not exists bench.t (ts timestamp, v double)"]:
        post(setup, sql.encode())
    bodies = statements(a.tables, a.rows, a.batch)
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
                post(conn, body)
        except (OSError, SystemExit) as e:
            errors.append(str(e))

    started = time.monotonic()
    threads = [threading.Thread(target=writer) for _ in range(a.writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - started
    if errors:
        raise SystemExit(errors[0])
    shape = f"{a.tables} tables" if a.tables > 1 else "1 table"
    print(f"{a.rows} rows, {shape}, {a.batch}-row statements, {a.writers} writers: "
          f"{secs:.2f} s, {a.rows / secs:,.0f} rows/s")


if __name__ == "__main__":
    main()
