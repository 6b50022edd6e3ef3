# arena: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       ?= bin/arena
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/arena-hq/arena/app.version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2

.PHONY: run test build bench lint fuzz clean

## run: play on http://127.0.0.1:8080 with the embedded broker and offline robots
run:
	$(GO) run -ldflags "$(LDFLAGS)" . serve --all

## test: every test (unit, embedded broker, fake model server, multi-process, browser) with the race detector
test:
	$(GO) test -race -count=1 -timeout 30m ./...

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

clean:
	rm -rf bin data
