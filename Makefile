# Driftline. `make run` and `make test` work on a fresh clone: they fetch
# what they need (libchdb.so, 566 MB) into a cache outside the clone.
SHELL := /bin/bash
# fetch-chdb.sh keeps libchdb.so under $${XDG_CACHE_HOME:-$$HOME/.cache}/driftline.
CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/driftline
CHDB_VERSION := 26.7.3-stable.1
LIBCHDB := $(CACHE)/chdb/$(CHDB_VERSION)/libchdb.so
export DRIFTLINE_LIBCHDB ?= $(LIBCHDB)
export CGO_ENABLED := 0
# kafka.sh keeps Apache Kafka's jars under $${XDG_CACHE_HOME:-$$HOME/.cache}/driftline/kafka.
KAFKA_SCRIPT := infra/scripts/kafka.sh
# Without java the real-broker test skips itself, so make test needs no jars.
KAFKA_IF_JAVA := $(if $(shell command -v java 2>/dev/null),kafka)
# The Python tooling (test vectors, Evidently comparison), pinned in tools/requirements.txt.
VENV := $(CACHE)/venv
PYTHON := $(VENV)/bin/python

MODULES := schemas services infra tools e2e
SERVICES := adapter shadow-evaluator drift-aggregator feedback-labeler retrain-trigger
PKGS := $(addsuffix /...,$(addprefix ./,$(MODULES)))

FUZZTIME ?= 10s

.PHONY: all build run test test-unit test-e2e test-kafka fuzz vet chdb kafka venv clean help bench-load compare-evidently bench-drift

all: build

help:
	@echo "make run    - start the embedded stack with a synthetic model, print what it found"
	@echo "make test   - unit tests, fuzz seeds, and the end-to-end tests on in-process Kafka and a real broker + chDB"
	@echo "make build  - build bin/driftline and one binary per service"
	@echo "make fuzz   - run every fuzz target for FUZZTIME (default 10s)"
	@echo "make kafka  - fetch Apache Kafka's jars (Maven Central) for the real-broker test"
	@echo "make venv   - create the Python venv for tools/ (test vectors, Evidently comparison)"
	@echo "make test-kafka - only the real-broker tests: the pipeline and its fault suite (needs Java 17)"
	@echo "make bench-load - the load benchmark of adapter + drift-aggregator on a real broker (docs/load.md)"
	@echo "make compare-evidently - driftline drift next to Evidently on shared datasets (docs/evidently.md)"
	@echo "make bench-drift - driftline drift against Evidently on 1M rows x 20 columns (docs/evidently.md)"

build:
	@mkdir -p bin
	go build -o bin/driftline ./tools/driftline
	@for s in $(SERVICES); do echo "go build -o bin/$$s ./services/$$s"; go build -o bin/$$s ./services/$$s || exit 1; done

chdb: $(LIBCHDB)
$(LIBCHDB):
	bash infra/scripts/fetch-chdb.sh

# kafka fetches the broker's jars once (the script reuses the cache).
venv: $(VENV)/.requirements

# Rebuilt when the pins change; a stamp file, because the venv's own mtime
# moves with every install.
$(VENV)/.requirements: tools/requirements.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r tools/requirements.txt
	cp tools/requirements.txt $@

kafka:
	bash $(KAFKA_SCRIPT) fetch

run: chdb build
	bin/driftline demo

vet:
	go vet $(PKGS)

test: chdb $(KAFKA_IF_JAVA) vet
	go test -count=1 -timeout 20m $(PKGS)

test-unit: chdb
	go test -count=1 -short $(PKGS)

# fuzz runs every fuzz target for FUZZTIME; findings land in testdata/fuzz
# of the package and stay there as regression seeds (see infra/scripts/fuzz.sh).
fuzz: chdb
	FUZZTIME=$(FUZZTIME) bash infra/scripts/fuzz.sh

test-e2e: chdb $(KAFKA_IF_JAVA)
	go test -count=1 -v -run TestPipeline ./e2e/...

# compare-evidently and bench-drift rewrite their tables in docs/evidently.md
# (not part of make test); BENCH_DRIFT_ARGS adds bench.py flags, e.g.
# BENCH_DRIFT_ARGS="--repeat 5 --reference-rows 100000".
compare-evidently: venv build
	$(PYTHON) tools/evidently/compare.py

bench-drift: venv build
	$(PYTHON) tools/evidently/bench.py $(BENCH_DRIFT_ARGS)

# bench-load measures the adapter and drift-aggregator binaries on a real
# broker at a target rate (docs/load.md); BENCH_ARGS adds loadbench flags,
# e.g. BENCH_ARGS="--rate 80000 --configs 1x20".
bench-load: chdb kafka build
	go run ./tools/loadbench --bin bin $(BENCH_ARGS)

# test-kafka runs only the tests on a real Apache Kafka broker: the pipeline
# and the fault suite (TestFaultsRealKafka: rebalance, broker restart, failed
# inserts, restart from committed offsets).
test-kafka: chdb kafka
	go test -count=1 -timeout 20m -v -run RealKafka ./e2e/

clean:
	rm -rf bin .driftline
