# The two commands of the README: `make run` and `make test`.

CARGO ?= cargo

.PHONY: run build test lint bench bench-http clean

## run: build (release) and start the anode on 127.0.0.1:6050
run: build
	./target/release/anode --config etc/taosanode.ini

build:
	$(CARGO) build --release -p anode

## test: everything CI checks — formatting, clippy, unit, handler and end-to-end tests
test: lint
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
