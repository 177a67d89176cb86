# The two commands of the README: `make run` and `make test`.

CARGO ?= cargo
PYTHON ?= python3
# pyo3 builds against the real interpreter (not a pyenv shim) and records its
# libpython directory as the binary's rpath.
export PYO3_PYTHON ?= $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: run run-release serve-demo build venv test lint bench bench-http backtest bench-forecast dist clean

## run: build (the test build: after `make test` there is nothing left to
## compile), set up the Python venv, start the tsdb on 127.0.0.1:6041 with its
## embedded anode on 127.0.0.1:6050 (registered as an anode), load the sample
## data into the database `demo` (demo/load.sql, idempotent), print an example
## session (demo/session.sql, each statement before its result) and keep
## serving; logs go to log/tsdb.log and log/taosanode.app.log; Ctrl-C stops it
run: venv
	$(CARGO) build -p anode -p tsdb
	@$(MAKE) --no-print-directory serve-demo BIN=./target/debug

## run-release: the same with an optimised build (about 8 minutes more here)
run-release: venv
	$(CARGO) build --release -p anode -p tsdb
	@$(MAKE) --no-print-directory serve-demo BIN=./target/release

BIN ?= ./target/debug
serve-demo:
	@mkdir -p log; \
	$(BIN)/tsdb serve --config etc/tsdb.ini 2>>log/tsdb.log & tsdb=$$!; \
	trap 'kill $$tsdb 2>/dev/null; wait $$tsdb' EXIT INT TERM; \
	for i in $$(seq 1 120); do \
		$(BIN)/tsdb shell -s "show anodes" >/dev/null 2>&1 && break; \
		kill -0 $$tsdb 2>/dev/null || { echo "tsdb did not start: see log/tsdb.log"; tail -5 log/tsdb.log; exit 1; }; \
		sleep 0.5; \
	done; \
	$(BIN)/tsdb shell -f demo/load.sql >/dev/null || echo "demo/load.sql: some statements failed"; \
	$(BIN)/tsdb shell --echo -f demo/session.sql; \
	echo; echo "tsdb on 127.0.0.1:6041 ($(BIN)/tsdb shell), anode on 127.0.0.1:6050; logs in log/; Ctrl-C stops"; \
	wait $$tsdb

## venv: create or update the venv of the Python algorithms (quick when up to date)
venv:
	$(PYTHON) python/setup_venv.py --config etc/taosanode.ini

build:
	$(CARGO) build -p anode -p tsdb

## test: everything CI checks — formatting, clippy, unit, handler and end-to-end
## tests, then the package installed into a temporary prefix (tests/install.sh)
## and the web console in headless Chromium and Firefox (tests/console.sh, which
## installs Debian's browsers when it can and says so when it skips)
test: venv lint
	$(CARGO) test --workspace
	bash tests/install.sh
	bash tests/console.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# the protocol-only build the tsdb will depend on
	$(CARGO) clippy -p anode --no-default-features --all-targets -- -D warnings

## bench: criterion benchmarks of the algorithm kernels
bench:
	$(CARGO) bench -p anode --bench algorithms

## bench-http: wrk load test of every algorithm (needs the wrk package)
bench-http:
	bash bench/http.sh

## backtest: every native forecaster on the shipped real series (anode/data/series),
## rolling origin, 3 folds: MASE, sMAPE, 95% coverage, time per fit
backtest:
	$(CARGO) build --release -p anode
	./target/release/anode backtest --folds 3 -v

## bench-forecast: the backtest and statsforecast's AutoARIMA/AutoETS/AutoTheta/AutoCES
## on the same series and origins (creates .venv-bench from PyPI the first time)
bench-forecast:
	bash bench/forecast.sh

## dist: the release tarball (unpack, sudo ./install.sh) and the .deb, in dist/
## (docs/install.md); the anode embeds the Python of $(PYTHON)
dist:
	bash packaging/dist.sh --out dist

clean:
	$(CARGO) clean
