#!/usr/bin/env python3
"""One table from `anode backtest --csv` and `forecast_peers.py --csv`: per
configuration the mean MASE over every (series, fold) it answered, and over
the cases that every configuration answered (a peer that ran out of time on
the long seasonal series would otherwise be averaged over easier ones),
sMAPE, 95 % coverage, median and max time per fit, failures.

usage: forecast_table.py OURS.csv PEERS.csv
"""
import csv
import math
import statistics
import sys


def rows(path):
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            ok = not r.get("error") and r["mase"] not in ("", "nan", "NaN")
            yield {
                "case": (r["series"], r["fold"]),
                "config": r["configuration"],
                "mase": float(r["mase"]) if ok else math.nan,
                "smape": float(r["smape"]) if ok else math.nan,
                "coverage": float(r["coverage"]) if ok and r["coverage"] not in ("", "nan", "NaN") else math.nan,
                "ms": float(r["millis"]),
                "ok": ok,
            }


def main():
    data = list(rows(sys.argv[1])) + list(rows(sys.argv[2]))
    configs = list(dict.fromkeys(r["config"] for r in data))
    # mstl only runs on the seasonal series: leave it out of the common set
    common_over = [c for c in configs if not c.startswith("mstl")]
    cases = set(r["case"] for r in data)
    common = {c for c in cases
              if all(any(r["case"] == c and r["config"] == k and r["ok"] for r in data) for k in common_over)}
    print(f"| configuration | MASE | MASE, {len(common)} common cases | sMAPE % | 95% coverage | median ms | max ms | failed |")
    print("|---|---|---|---|---|---|---|---|")
    mean = lambda v: statistics.fmean(v) if v else math.nan  # noqa: E731
    for k in configs:
        rs = [r for r in data if r["config"] == k]
        ok = [r for r in rs if r["ok"]]
        cov = [r["coverage"] for r in ok if not math.isnan(r["coverage"])]
        ms = sorted(r["ms"] for r in rs)
        common_mase = mean([r["mase"] for r in ok if r["case"] in common])
        print(f"| {k} | {mean([r['mase'] for r in ok]):.3f} | "
              f"{'–' if k.startswith('mstl') else format(common_mase, '.3f')} | "
              f"{mean([r['smape'] for r in ok]):.2f} | {format(mean(cov), '.3f') if cov else '–'} | "
              f"{ms[len(ms) // 2]:.1f} | {ms[-1]:.1f} | {len(rs) - len(ok)} |")


if __name__ == "__main__":
    main()
