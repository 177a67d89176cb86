"""Peak memory and time of every issue-15 reproducer against release builds.

Run by bench/hostile.sh (which builds and starts the servers). For each
request the server's peak RSS is reset first (writing 5 to
/proc/PID/clear_refs, Linux >= 4.0), so the figure printed is the peak of
that request alone; the script fails if any passes LIMIT_MB or the server
stops answering.

    python3 bench/hostile.py TSDB_ADDR TSDB_PID ANODE_ADDR ANODE_PID
"""

import json
import sys
import time
import urllib.error
import urllib.request

LIMIT_MB = 1536
AUTH = "Basic cm9vdDp0YW9zZGF0YQ=="


def peak_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def post(url, body, headers):
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sql(addr, text):
    return post(f"http://{addr}/rest/sql/h", text, {"Authorization": AUTH})


def anode(addr, path, body):
    return post(f"http://{addr}{path}", json.dumps(body), {"Content-Type": "application/json"})


def nest(open_, inner, close, n):
    return open_ * n + inner + close * n


def main():
    tsdb, tsdb_pid, an, an_pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    post(f"http://{tsdb}/rest/sql", "create database if not exists h", {"Authorization": AUTH})
    sql(tsdb, "create table if not exists t (ts timestamp, v int, s binary(16))")
    # 300,000 rows, as in the 10 MB literal case
    for chunk in range(30):
        rows = " ".join(
            f"({1600000000000 + chunk * 10000 + i}, {i}, 's{i % 100}')" for i in range(10000)
        )
        sql(tsdb, f"insert into t values {rows}")
    sql(tsdb, "insert into t values ('2020-01-01 00:00:00', 1, 'a') ('2020-12-31 00:00:00', 2, 'b')")

    cases = [
        ("1,200 nested parentheses", lambda: sql(tsdb, "select " + nest("(", "1", ")", 1200))),
        ("WHERE 2,000 nested parentheses", lambda: sql(tsdb, "select * from t where " + nest("(", "v=1", ")", 2000))),
        ("1+1+... 10,000 terms", lambda: sql(tsdb, "select 1" + "+1" * 10000)),
        ("10,000 OR terms", lambda: sql(tsdb, "select * from t where " + " or ".join(["v=1"] * 10000))),
        ("100,000 NOT", lambda: sql(tsdb, "select " + "not " * 100000 + "1")),
        ("100,000 nested abs(", lambda: sql(tsdb, "select " + nest("abs(", "v", ")", 100000) + " from t")),
        ("select list of 500,000 items (3 MB)", lambda: sql(tsdb, "select " + ",".join(["v"] * 500000) + " from t")),
        ("10 MB literal over 300 k rows", lambda: sql(tsdb, "select * from t where s = '" + "x" * (10 << 20) + "'")),
        ("IN list of 5 M items", lambda: sql(tsdb, "select * from t where v in (" + ",".join(["1"] * 5000000) + ")")),
        ("FILL(NULL) over a year at 4 s", lambda: sql(tsdb, "select count(*) from t where ts >= '2020-01-01' and ts < '2021-01-01' interval(4s) fill(null)")),
        ("select * of 300 k rows", lambda: sql(tsdb, "select * from t")),
        ("interval(300000y)", lambda: sql(tsdb, "select count(*) from t interval(300000y)")),
        ("now + 213503982335d", lambda: sql(tsdb, "insert into t values (now + 213503982335d, 1, 'x')")),
    ]
    x = [((i % 300) / 30.0) for i in range(40000)]
    ts = [1577808000000 + 1000 * i for i in range(40000)]
    corr = {"schema": [["val", "DOUBLE", 8], ["val1", "DOUBLE", 8]], "data": [x, x[::-1]],
            "algo": "dtw", "option": "algo=dtw", "wncheck": 0, "rows": 40000, "protocol": 1.0}
    lof = {"schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]], "data": [ts, x],
           "algo": "lof", "option": "algo=lof,neighbors=39999", "prec": "ms", "rows": 40000,
           "protocol": 1.0, "wncheck": 0}
    lof500 = dict(lof, option="algo=lof,neighbors=500")
    hw = {"schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]], "data": [ts, x],
          "algo": "holtwinters", "option": "algo=holtwinters,period=8784,trend=add,seasonal=add", "prec": "ms",
          "rows": 40000, "protocol": 1.0, "wncheck": 0, "forecast_rows": 10,
          "start": ts[-1] + 1000, "every": 1000, "conf": 0.95, "return_conf": 1}
    hw10k = dict(hw, option="algo=holtwinters,period=10000")
    extreme = {"schema": [["val", "DOUBLE", 8], ["val1", "DOUBLE", 8]],
               "data": [[1e308, -1e308] * 50, [-1e308, 1e308] * 50], "algo": "dtw",
               "option": "algo=dtw", "wncheck": 0, "rows": 100, "protocol": 1.0}
    anode_cases = [
        ("dtw 40,000 rows", lambda: anode(an, "/correlation", corr)),
        ("lof 40,000 rows neighbors=39999", lambda: anode(an, "/anomaly-detect", lof)),
        ("lof 40,000 rows neighbors=500", lambda: anode(an, "/anomaly-detect", lof500)),
        ("holtwinters period=10000, 40,000 rows", lambda: anode(an, "/forecast", hw10k)),
        ("holtwinters period=8784, 40,000 rows", lambda: anode(an, "/forecast", hw)),
        ("dtw ±1e308", lambda: anode(an, "/correlation", extreme)),
    ]
    worst = 0.0
    print(f"{'case':<40} {'ms':>8} {'peak MB':>8}  answer")
    for service, pid, group in (("tsdb", tsdb_pid, cases), ("anode", an_pid, anode_cases)):
        for name, run in group:
            reset_peak(pid)
            started = time.time()
            status, body = run()
            ms = (time.time() - started) * 1000
            peak = peak_mb(pid)
            worst = max(worst, peak)
            answer = body[:110].replace("\n", " ")
            print(f"{service + ': ' + name:<40} {ms:8.0f} {peak:8.0f}  {status} {answer}")
    print(f"worst peak: {worst:.0f} MB (limit {LIMIT_MB} MB); tsdb RSS now {rss_mb(tsdb_pid):.0f} MB, anode {rss_mb(an_pid):.0f} MB")
    status, _ = post(f"http://{tsdb}/rest/sql", "select server_version()", {"Authorization": AUTH})
    assert status == 200, "the tsdb stopped answering"
    if worst > LIMIT_MB:
        sys.exit(f"a request passed {LIMIT_MB} MB")


if __name__ == "__main__":
    main()
