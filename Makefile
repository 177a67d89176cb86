# The two commands of the README: `make run` and `make test`.

CARGO ?= cargo
PYTHON ?= python3
# pyo3 builds against the real interpreter (not a pyenv shim) and records its
# libpython directory as the binary's rpath.
export PYO3_PYTHON ?= $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: run build venv test lint bench bench-http clean

## run: build (release), set up the Python venv, start the tsdb on 127.0.0.1:6041
## with its embedded anode on 127.0.0.1:6050 (registered as an anode), load the
## sample data (demo/load.sql), print an example session (demo/session.sql) and
## keep serving; Ctrl-C stops it
run: build venv
	@./target/release/tsdb serve --config etc/tsdb.ini & tsdb=$$!; \
	trap 'kill $$tsdb 2>/dev/null; wait $$tsdb' EXIT INT TERM; \
	for i in $$(seq 1 60); do \
		./target/release/tsdb shell -s "show anodes" >/dev/null 2>&1 && break; sleep 0.5; \
	done; \
	./target/release/tsdb shell -f demo/load.sql >/dev/null || echo "demo/load.sql: some statements failed"; \
	./target/release/tsdb shell -f demo/session.sql; \
	echo "tsdb on 127.0.0.1:6041 (tsdb shell), anode on 127.0.0.1:6050; Ctrl-C stops"; \
	wait $$tsdb

## venv: create or update the venv of the Python algorithms (quick when up to date)
venv:
	$(PYTHON) python/setup_venv.py --config etc/taosanode.ini

build:
	$(CARGO) build --release -p anode -p tsdb

## test: everything CI checks — formatting, clippy, unit, handler and end-to-end tests
test: venv lint
	$(CARGO) test --workspace

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

clean:
	$(CARGO) clean
