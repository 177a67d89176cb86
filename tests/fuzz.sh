#!/usr/bin/env bash
# The long fuzz run: every fuzz target of both crates with FUZZ_CASES cases
# each (default 100,000), in the test profile so that integer overflow
# panics too. `make test` runs the same targets with 2,000 cases.
#
#   bash tests/fuzz.sh                  # 100,000 cases per target
#   FUZZ_CASES=1000000 FUZZ_SEED=7 bash tests/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES=${FUZZ_CASES:-100000}
export PYO3_PYTHON=${PYO3_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
for crate in tsdb anode; do
  cargo test -p "$crate" --test fuzz -- --nocapture --test-threads 1 2>&1 | grep -E "fuzz [a-z-]+: |test result|panicked" | sed "s/^test [a-z_]* \.\.\. //"
done
