#!/usr/bin/env bash
# Forecast accuracy and speed against statsforecast, in one run: our native
# forecasters (`anode backtest`) and statsforecast's AutoARIMA, AutoETS,
# AutoTheta and AutoCES (bench/forecast_peers.py) on the same shipped series,
# origins and horizons. Accuracy is deterministic; times are per fit, each
# side alone on the machine (ours first, then the peers').
#
#   bash bench/forecast.sh              # 3 folds, 300 s limit per peer fit
#   FOLDS=1 TIMEOUT=60 bash bench/forecast.sh
#
# The peers live in .venv-bench (statsforecast 1.7.8 from PyPI, created the
# first time: about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
FOLDS=${FOLDS:-3}
TIMEOUT=${TIMEOUT:-300}
out=${OUT:-target/bench-forecast}
mkdir -p "$out"

cargo build --release -p anode >&2
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import statsforecast' 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q statsforecast==1.7.8
fi

echo "## ours (anode backtest --folds $FOLDS)"
./target/release/anode backtest --folds "$FOLDS" --csv "$out/ours.csv"
echo
echo "## statsforecast 1.7.8, season told (fit limit ${TIMEOUT} s)"
.venv-bench/bin/python bench/forecast_peers.py anode/data/series --folds "$FOLDS" \
  --timeout "$TIMEOUT" --csv "$out/peers.csv" 2>/dev/null
echo
echo "## together"
python3 bench/forecast_table.py "$out/ours.csv" "$out/peers.csv"
echo
echo "every score: $out/ours.csv, $out/peers.csv"
