GO ?= go

# Version stamping of every build made here: --version, the landing page
# and tencentchat_exporter_build_info show them.
VERSION    := $(shell cat VERSION)
REVISION   := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH     := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell whoami)@$(shell hostname)
BUILD_DATE := $(shell date -u +%Y%m%d-%H:%M:%S)
VPKG       := github.com/prometheus/common/version
LDFLAGS    := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) \
              -X $(VPKG).BuildUser=$(BUILD_USER) -X $(VPKG).BuildDate=$(BUILD_DATE)
export LDFLAGS VERSION

.PHONY: all build crossbuild image-test lint tools test test-build test-unit test-chart test-dashboard test-e2e test-under-load vet fmt-check fuzz soak bench bench-scale mixin clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o tencentchat_exporter .
	$(GO) build -o tencentchat-simulator ./cmd/tencentchat-simulator

# Release archives for linux, darwin and windows, with sha256sums.txt, in
# dist/.
crossbuild:
	GO=$(GO) ./tools/crossbuild.sh

# With -race, vet compiles the packages as the race-enabled tests need them:
# in make test it is the step that compiles them, once for both. It is also
# make test's only vet: go test's own vet (a subset of these analyzers) is
# turned off below with -vet=off, because it derives its facts for every
# dependency again, under another configuration (the chart test's
# dependencies alone took 55 of its 68 CPU-seconds from a cold cache).
vet:
	$(GO) vet -race -tags e2e ./...

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

# The pinned Prometheus 3 and Alertmanager (tools/*/go.mod) that the
# end-to-end suite and the rule tests run, built into .tools/bin when
# missing or of another version: about 3 minutes on two cores from an
# empty build cache. PROMETHEUS_BIN, PROMTOOL_BIN and ALERTMANAGER_BIN may
# name binaries of the pinned versions instead.
tools:
	@GO=$(GO) TOOLS_GCFLAGS='$(TOOLS_GCFLAGS)' ./tools/build.sh

# The tools are compiled without optimisation: they serve tests, and the
# compiler does a fifth less work. Nor with DWARF: they are linked with
# -s -w, which drops it, and writing it took an eighth of Prometheus' build
# (486 CPU-seconds with it, 428 without). The standard library is the
# exception (std=): compiled as a plain go build compiles it, it serves the builds of
# the exporter in the tests too. The chart test compiles with the same
# flags, so it reuses the packages the Prometheus build compiled.
TOOLS_GCFLAGS ?= all=-N -l -dwarf=false
TOOLS_BUILDFLAGS = -gcflags='$(TOOLS_GCFLAGS)' -gcflags=std=

# Builds the Dockerfile with podman (offline, from local stand-ins of its
# base images) and runs the image as the README does.
image-test:
	GO=$(GO) ./tools/image-test.sh

# golangci-lint v2, pinned, built into .tools/bin when missing or of
# another version (a few minutes the first time), with .golangci.yml.
GOLANGCI_LINT_VERSION := 2.15.0
lint:
	@if ! .tools/bin/golangci-lint version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION) "; then \
	  echo "lint: building golangci-lint $(GOLANGCI_LINT_VERSION) into .tools/bin (a few minutes the first time)"; \
	  GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi
	.tools/bin/golangci-lint run ./...
	cd tools/dashboard && ../../.tools/bin/golangci-lint run ./...
	cd tools/prometheus && ../../.tools/bin/golangci-lint run ./...

# mixin/alerts.yml from its template and the thresholds in mixin/config.yml.
mixin:
	$(GO) run ./tools/mixin

# The test command of the README and of CI: every package, the end-to-end
# suite (build tag e2e), and the dashboard and chart tests, in two phases.
# Compiling is CPU-bound, and on two cores two builds at once took longer
# than the same two one after the other (they evict each other from the
# CPU caches: Prometheus' build beside vet's took 24% more CPU-seconds). So
# test-build first compiles the tools, then the race-enabled packages (vet
# reads what it compiles), then the exporter, each on every core; then the
# chart test, which is all compiling (helm and 80 k8s.io packages; it runs
# in a second): beside the end-to-end suite it slowed that from 70 to 130 s.
# The tests then run in three lanes at once: they wait on timers, servers
# and processes more than they compute, and the dashboard's compiling fits
# in those waits.
test: fmt-check
	@t0=$$(date +%s); $(MAKE) --no-print-directory test-build test-chart && t1=$$(date +%s) && \
	  $(MAKE) --no-print-directory -j3 test-unit test-dashboard test-e2e && \
	  echo "test: passed; compiling (and the chart test) took $$((t1 - t0)) s, the tests $$(($$(date +%s) - t1)) s"

# The exporter as the tests build it (plain go build): the root package's
# TestMain and the end-to-end suite both build it as the tests start, and
# two go commands compiling the same packages at once each compile them.
test-build: tools vet
	$(GO) build -o /dev/null .

# Every package but the end-to-end suite; Go alone. make vet vets them.
# -parallel 4: the tests marked parallel wait on timers and servers, and
# go test would otherwise run only as many at once as there are cores.
test-unit:
	$(GO) test -race -vet=off -count=1 -parallel 4 ./...

# The Grafana dashboard's queries and panels (tools/dashboard, a module of
# its own). Without go test's vet, which took 12 of its 41 CPU-seconds from
# a cold cache deriving facts for the SDK's packages; make lint's govet
# checks the test.
test-dashboard:
	cd tools/dashboard && $(GO) test -race -vet=off -count=1 ./...

# The chart test compiles with the tools' flags in the Prometheus module, so
# after make tools it finds the k8s.io packages Prometheus uses (73 of its
# 159) compiled; it runs no goroutine of its own, so no -race. go test's vet would derive facts for
# all its 540 dependencies (four fifths of its cold cost); make lint's
# govet checks the test itself.
test-chart:
	cd tools/prometheus && $(GO) test -vet=off -count=1 $(TOOLS_BUILDFLAGS) ./chart

test-e2e: tools
	$(GO) test -race -vet=off -count=1 -parallel 4 -tags e2e ./e2e

# make test three times in a row with every core kept busy: the tests must
# not depend on an idle machine.
test-under-load: tools
	RUNS=$${RUNS:-3} ./tools/under-load.sh $(MAKE) --no-print-directory test

# Fuzz the answer decoder and the config
# loader, FUZZTIME each; FUZZTIME=5m make fuzz for a longer run.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./internal/tencentchat -run '^$$' -fuzz '^FuzzDecodeAnswer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

# Thousands of scrapes with random faults: goroutines and heap must stay flat.
SOAK_SCRAPES ?= 5000
soak:
	SOAK_SCRAPES=$(SOAK_SCRAPES) $(GO) test -race -count=1 -timeout 2h -run '^TestSoak$$' -v ./collector

clean:
	rm -rf tencentchat_exporter tencentchat-simulator .tools dist

# Go benchmarks of the hot path (decode, emit, whole scrape, client_golang baseline).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/tencentchat ./collector

# The built exporter against the simulator command, as processes: wall time
# against the network floor and the client alone, CPU per scrape, peak RSS.
bench-scale:
	$(GO) run ./tools/benchscale -latency 50ms -concurrency 8 -scrapes 5 -sizes 1000/1,10000/1,100000/10 -accept-encoding identity
	$(GO) run ./tools/benchscale -latency 50ms -concurrency 8 -scrapes 5 -sizes 1000/1,10000/1,100000/10 -accept-encoding gzip
