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

.PHONY: all build crossbuild image-test lint tools test vet fmt-check test-e2e test-landing mixin-test test-under-load fuzz soak bench bench-scale mixin clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o tencentchat_exporter .
	$(GO) build -o tencentchat-simulator ./cmd/tencentchat-simulator

# Release archives for linux, darwin and windows, with sha256sums.txt, in dist/.
crossbuild:
	GO=$(GO) ./tools/crossbuild.sh

# The README's test command: gofmt, go vet and every unit and integration
# test (real HTTP against the simulator, both binaries as processes) with
# the race detector. Go alone; no tool is built.
test: fmt-check vet
	$(GO) test -race -count=1 ./...

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e
	$(GO) vet -tags soak . ./collector

# The end-to-end suite against a real Prometheus 3 and Alertmanager (with
# the mixin's rules and their promtool tests), then the dashboard and the
# Helm chart tests, each a module of its own under tools/.
test-e2e: tools
	$(GO) test -race -count=1 -tags e2e ./e2e
	cd tools/dashboard && $(GO) test -race -count=1 ./...
	cd tools/chart && $(GO) test -race -count=1 ./...

# The pinned Prometheus, promtool, Alertmanager and amtool, built into
# .tools/bin when missing (tools/build.sh); PROMETHEUS_BIN, PROMTOOL_BIN,
# ALERTMANAGER_BIN and AMTOOL_BIN may name binaries of the pinned versions.
tools:
	GO=$(GO) ./tools/build.sh

# golangci-lint v2, pinned, built into .tools/bin when missing or of
# another version, with .golangci.yml.
GOLANGCI_LINT_VERSION := 2.15.0
lint:
	@if ! .tools/bin/golangci-lint version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION) "; then \
	  echo "lint: building golangci-lint $(GOLANGCI_LINT_VERSION) into .tools/bin"; \
	  GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi
	.tools/bin/golangci-lint run --build-tags e2e,soak ./...
	cd tools/dashboard && ../../.tools/bin/golangci-lint run ./...
	cd tools/chart && ../../.tools/bin/golangci-lint run ./...
	cd tools/landing && ../../.tools/bin/golangci-lint run ./...

# The landing page laid out in a headless Chromium at 1280 and 375 px (a
# module of its own, tools/landing); installs chromium with apt when no
# browser is found and CHROMIUM_BIN is unset.
test-landing:
	@if [ -z "$$CHROMIUM_BIN" ] && ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then \
	  echo "test-landing: installing chromium with apt"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi
	cd tools/landing && $(GO) test -race -count=1 ./...

# Builds the Dockerfile with podman (offline, from local stand-ins of its
# base images) and runs the image as the README does.
image-test:
	GO=$(GO) ./tools/image-test.sh

# promtool check rules on the mixin's rule files and promtool test rules on
# its unit tests (mixin/tests), with the pinned promtool (make tools).
PROMTOOL ?= $(if $(PROMTOOL_BIN),$(PROMTOOL_BIN),.tools/bin/promtool)
mixin-test: tools
	$(PROMTOOL) check rules mixin/rules.yml mixin/alerts.yml mixin/alerts.zh.yml
	$(PROMTOOL) test rules $(wildcard mixin/tests/*_test.yml)

# The mixin's files (rules, alerts in English and Chinese, dashboard, the
# chart's copies) from mixin/mixin.libsonnet and mixin/config.yml.
mixin:
	$(GO) run ./tools/mixin

# make test RUNS times (default 3) while a busy loop occupies every core.
test-under-load:
	RUNS=$${RUNS:-3} ./tools/under-load.sh $(MAKE) --no-print-directory test

# Fuzzing: the answer decoder, the config loader and the exposition writer
# (against client_golang), FUZZTIME each; FUZZTIME=5m make fuzz for longer.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./internal/tencentchat -run '^$$' -fuzz '^FuzzDecodeAnswer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/exposition -run '^$$' -fuzz '^FuzzWriter$$' -fuzztime $(FUZZTIME)

# The long runs (build tag soak): SOAK_SCRAPES scrapes with random faults,
# goroutines and heap staying flat; and 50 concurrent scrapes of 10,000
# accounts as processes, within the README's memory bound.
SOAK_SCRAPES ?= 5000
soak:
	SOAK_SCRAPES=$(SOAK_SCRAPES) $(GO) test -race -count=1 -timeout 2h -tags soak -run '^TestSoak$$' -v ./collector
	$(GO) test -count=1 -timeout 30m -tags soak -run '^TestConcurrentScrapeLoad$$' -v .

# Go benchmarks of the hot path (decode, emit, whole scrape, client_golang baseline).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/tencentchat ./collector

# The built exporter against the simulator command, as processes: wall time
# against the network floor and the client alone, CPU per scrape, peak RSS.
bench-scale:
	$(GO) run ./tools/benchscale -latency 50ms -concurrency 8 -scrapes 5 -sizes 1000/1,10000/1,100000/10 -accept-encoding identity
	$(GO) run ./tools/benchscale -latency 50ms -concurrency 8 -scrapes 5 -sizes 1000/1,10000/1,100000/10 -accept-encoding gzip

clean:
	rm -rf tencentchat_exporter tencentchat-simulator .tools dist
