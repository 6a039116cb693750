# voicesim — realtime voice-assistant pipeline latency simulator.
#   make run    start the live server (voicesim serve) and print its URL
#   make test   gofmt check, go vet (also for Windows and macOS), and every test with the race detector

GO      ?= go
BIN     := bin/voicesim
PKGS    := ./...
ARGS    ?=

.PHONY: all build run demo test vet fmt-check chromium firefox bench load demo-png fuzz assets clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/voicesim

ADDR    ?= 127.0.0.1:8080

run:
	@echo "voicesim: open http://$(ADDR)/ once it is serving (Ctrl-C stops it)"
	$(GO) run ./cmd/voicesim serve --addr $(ADDR) $(ARGS)

# The headless demo: waterfalls of scripted turns through every preset.
demo:
	$(GO) run ./cmd/voicesim demo $(ARGS)

test: fmt-check vet chromium firefox
	$(GO) test -race -count=1 $(PKGS)

# The browser tests (web/browser_test.go) drive headless Chromium. Install it
# when missing and root (apt), else say what to install.
chromium:
	@[ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	command -v google-chrome >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium for the browser tests"; \
			apt-get update -qq && apt-get install -y -qq chromium; \
		else \
			echo "the browser tests need Chromium: install it (sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome"; \
			exit 1; \
		fi; }

# The Firefox tests (web/firefox_test.go) drive headless Firefox over
# WebDriver BiDi, its audio going to a PulseAudio null sink. Install both
# when missing and root (apt), else say what to install.
firefox:
	@{ [ -n "$$FIREFOX" ] || command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1; } && \
	command -v pulseaudio >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing firefox-esr and pulseaudio for the Firefox tests"; \
			apt-get update -qq && apt-get install -y -qq firefox-esr pulseaudio; \
		else \
			echo "the Firefox tests need Firefox and PulseAudio: install them (sudo apt-get install firefox-esr pulseaudio) or set FIREFOX=/path/to/firefox"; \
			exit 1; \
		fi; }

# vet also type-checks the other systems voicesim builds for (code and
# tests), so a Unix-only call cannot slip into a shared file again.
vet:
	$(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Benchmarks: speed and memory are shown here, never asserted in tests.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The load benchmark: N clients streaming in real time over loopback (about
# a minute per count). VOICESIM_LOAD_URL=ws://host:port/ws loads a separate
# server instead.
LOAD_CLIENTS ?= 100,500
load:
	VOICESIM_LOAD_CLIENTS=$(LOAD_CLIENTS) $(GO) test -run '^$$' -bench Load -benchtime 1x ./web

# Regenerate the README's screenshot from the browser barge-in test.
demo-png: chromium
	VOICESIM_DEMO_PNG=$(CURDIR)/docs/demo.png $(GO) test -count=1 -run TestBrowserShowsBargeIn ./web

# Regenerate the scenario library's speech (needs espeak-ng, sox, lame).
assets:
	scenarios/assets/gen.sh

# A short fuzzing pass over every parser of outside input.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadWAV -fuzztime 20s ./pipeline/audio
	$(GO) test -run '^$$' -fuzz FuzzDecodeText -fuzztime 20s ./web
	$(GO) test -run '^$$' -fuzz FuzzParser -fuzztime 20s ./web/wsframe

clean:
	rm -rf bin out
