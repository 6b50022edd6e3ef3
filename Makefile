# arena: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       ?= bin/arena
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/arena-hq/arena/app.version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2

.PHONY: run test test-deps build bench lint fuzz clean reset

## run: play on http://127.0.0.1:8080 with the embedded broker and offline robots (Ctrl-C stops)
run:
	@echo "arena: building (the first build fetches about 50 Go modules, ~300 MB, and takes a few minutes)"
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .
	./$(BIN) serve --all

## test: every test (unit, embedded broker, fake model server, multi-process, browser) with the race detector
test: test-deps
	$(GO) test -race -count=1 -timeout 30m ./...

# test-deps: the browser tests drive Debian's Chromium. As root on Debian it is
# installed when missing; otherwise this prints the one command to run.
test-deps:
	@if [ -z "$$ARENA_CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make test: installing Debian's chromium for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null || exit 1; \
	  else \
	    echo "make test: the browser tests need Chromium. Run: sudo apt-get install -y chromium"; \
	    echo "           (or set ARENA_CHROMIUM=/path/to/chromium)"; \
	    exit 1; \
	  fi; \
	fi

## build: the arena binary in bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## bench: Go benchmarks of the hot paths (reducer, views, encoding, replay from the embedded broker); see docs/performance.md
BENCHTIME ?= 1s
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 -benchtime=$(BENCHTIME) -timeout 10m ./...

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## fuzz: run the fuzz tests for a while each
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzApply -fuzztime=60s ./modules/game/
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=60s ./modules/events/
	$(GO) test -run='^$$' -fuzz=FuzzClientFrame -fuzztime=60s ./modules/gateway/

## clean: remove the binary and the embedded broker's data (every match played locally)
clean:
	rm -rf bin data

## reset: forget every local match (the embedded broker's data in ./data); stop arena first
reset:
	rm -rf data
