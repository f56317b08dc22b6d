# drivetrain: the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/drivetrain
STACK := deploy/local/stack.sh
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build demo test lint unit chdb-venv bench-smoke integration test-integration faults stack-up stack-down stack-status bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/drivetrain

# demo: the whole pipeline on this machine (see `drivetrain demo --help`): the
# local stack, the connector, a node in the background, a live workload, then
# the sales report. Everything keeps running; `make stack-down` stops it.
demo: build
	$(BIN) demo --duration $${DEMO_DURATION:-60s} --rate $${DEMO_RATE:-200}

# test: static checks, unit tests with -race, then the integration tests on the
# local stack (brought up if it is not, and stopped again if this target
# started it).
test: lint unit bench-smoke test-integration

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags integration ./...

$(STATICCHECK):
	@echo "installing staticcheck $(STATICCHECK_VERSION) (once)"
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

unit: chdb-venv
	$(GO) test -race -count=1 ./...

# chdb-venv: a Python virtual environment with chdb-core (a current
# ClickHouse in process) for the sinks test that runs the current-server
# schema and the sink's Native blocks on it (docs/testing.md). Installed
# once per version; python3-venv comes from apt when missing. --no-deps:
# the test uses chdb's session API only, which needs none of the data-frame
# packages chdb-core depends on. When pip cannot install it, pip's error
# goes to $(CHDB_ERR) and that test skips with it, so the rest of
# `make test` still runs.
CHDB_CORE_VERSION := 26.9.0
CHDB_VENV := .stack/venv-chdb
CHDB_ERR := .stack/chdb-install.err

chdb-venv: $(CHDB_VENV)/installed-$(CHDB_CORE_VERSION)

$(CHDB_VENV)/installed-$(CHDB_CORE_VERSION):
	@mkdir -p .stack; rm -f $(CHDB_ERR)
	@if ! python3 -c 'import venv, ensurepip' 2>/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing python3-venv with apt-get (once)"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv; } \
	    >.stack/chdb-apt.log 2>&1 || echo "apt-get failed; see .stack/chdb-apt.log"; \
	fi
	@echo "installing chdb-core $(CHDB_CORE_VERSION) into $(CHDB_VENV) (once)"
	@if { [ -x $(CHDB_VENV)/bin/pip ] || python3 -m venv $(CHDB_VENV); } >.stack/chdb-install.log 2>&1 && \
	    $(CHDB_VENV)/bin/pip install -q --disable-pip-version-check --no-deps chdb-core==$(CHDB_CORE_VERSION) >>.stack/chdb-install.log 2>&1; then \
	  rm -f .stack/chdb-install.log; touch $@; \
	else \
	  mv .stack/chdb-install.log $(CHDB_ERR); \
	  echo "chdb-core $(CHDB_CORE_VERSION) could not be installed; the chdb test will skip. pip said:"; tail -5 $(CHDB_ERR); \
	fi

# bench-smoke: the in-process suites of `drivetrain bench`, small, so that the
# command cannot rot (it checks that it runs, not how fast).
bench-smoke: build
	@out=$$(mktemp -d) && $(BIN) bench --quick --suites decode,process --runs 1 --process-events 5000 --out $$out >/dev/null && rm -rf $$out

test-integration:
	@if $(STACK) status --quiet; then \
	  $(MAKE) --no-print-directory integration; \
	else \
	  $(STACK) up || exit 1; \
	  $(MAKE) --no-print-directory integration; rc=$$?; \
	  $(STACK) down; exit $$rc; \
	fi

# integration runs the integration-tagged tests (named TestIntegration*) against
# a running stack, then the ClickHouse freeze of the fault suite on its own.
integration:
	source .stack/env && $(GO) test -tags integration -count=1 -timeout 30m -run "^TestIntegration" ./...
	@# Alone, after the rest: it freezes the ClickHouse server they use.
	source .stack/env && $(GO) test -tags integration -count=1 -timeout 10m -run "^TestFaultClickHouseFreeze$$" ./cmd/drivetrain/

# faults: the fault suite on the local stack (brought up if needed): node
# kill -9, a misrouted record, ClickHouse frozen for 20 s; each reports the
# time to converge and the node's peak RSS (bench/README.md).
faults:
	@$(STACK) status --quiet || $(STACK) up
	@mkdir -p bench/out; rm -f bench/out/faults.txt
	source .stack/env && DRIVETRAIN_FAULTS_OUT=$(CURDIR)/bench/out/faults.txt $(GO) test -tags integration -count=1 -timeout 20m \
	  -run '^(TestIntegrationFault|TestFault)' ./cmd/drivetrain/
	@cat bench/out/faults.txt

# bench: the whole benchmark suite, drivetrain and its peers on the same
# topics of the local stack (brought up if needed); results, report and plots
# in bench/out/<timestamp>/ (bench/README.md). BENCH_FLAGS adds flags, e.g.
# BENCH_FLAGS=--quick.
bench: build
	@$(STACK) status --quiet || $(STACK) up
	source .stack/env && $(BIN) bench $(BENCH_FLAGS)

stack-up:
	$(STACK) up

stack-down:
	$(STACK) down

stack-status:
	$(STACK) status

clean:
	rm -rf bin
