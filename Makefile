# Rolodex. `make run` starts it with demo data; `make test` runs every test.
GO      ?= go
BIN     := bin/rolodex
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR    ?= :8080
DATA    ?= ./data

.PHONY: run build test generate lint bench e2e deps deps-browser clean

run: deps build ## build and start on $(ADDR) with the demo workspace
	$(BIN) serve -addr $(ADDR) -data $(DATA) -demo

build: ## build bin/rolodex
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

test: deps deps-browser ## every test, race detector on, no cache
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -race -count=1 -timeout 15m ./...

generate: ## regenerate templ components (commit the *_templ.go files)
	$(GO) tool templ generate

lint: ## vet and formatting
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }

e2e: deps deps-browser ## the real-browser tests only
	$(GO) test -count=1 -run Browser -v ./handlers/

bench: deps build ## big-data benchmarks; writes BENCHMARKS.md
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md $(GO) test -count=1 -timeout 60m -run TestBenchReport -v ./handlers/
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md ROLODEX_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m -run TestImportBenchReport -v ./jobs/
	@cat BENCHMARKS.md

# redis-server (and chromium for browser tests) come from Debian's packages:
# installed here when running as root, otherwise the one-line instruction.
deps:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "redis-server is missing: sudo apt-get install redis-server"; exit 1; fi; }

deps-browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; }

clean:
	rm -rf bin
