# voicesim — realtime voice-assistant pipeline latency simulator.
#   make run    start voicesim on its built-in default
#   make test   gofmt check, go vet, and every test with the race detector

GO      ?= go
BIN     := bin/voicesim
PKGS    := ./...
ARGS    ?=

.PHONY: all build run test vet fmt-check bench fuzz assets clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/voicesim

run:
	$(GO) run ./cmd/voicesim demo $(ARGS)

test: fmt-check vet
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Benchmarks: speed and memory are shown here, never asserted in tests.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Regenerate the scenario library's speech (needs espeak-ng, sox, lame).
assets:
	scenarios/assets/gen.sh

# A short fuzzing pass over every parser of outside input.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadWAV -fuzztime 20s ./pipeline/audio

clean:
	rm -rf bin out
