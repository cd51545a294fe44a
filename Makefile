GO ?= go

.PHONY: all build test vet fmt-check fuzz clean

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

# The test command of the README and of CI.
test: fmt-check vet
	$(GO) test -race -count=1 ./...

# Fuzz the API answer decoder; FUZZTIME=5m make fuzz for a longer run.
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./internal/tencentchat -run '^$$' -fuzz FuzzDecodeAnswer -fuzztime $(FUZZTIME)

clean:
	rm -rf tencentchat_exporter tencentchat-simulator
