# Rolodex. `make run` starts it with demo data; `make test` runs every test.
GO      ?= go
BIN     := bin/rolodex
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR    ?= :8080
DATA    ?= ./data

# SQLite's query planner stability guarantee. mattn/go-sqlite3 clears a
# statement's bindings before every run, and SQLite re-plans any statement
# whose plan peeked at a bound value (a LIMIT ?, an ORDER BY over an index
# with company_id = ?, a join or EXISTS): with QPSG a cached statement is
# planned once. Reads cost 3-6x less (see store.checkBuild).
export CGO_CFLAGS := -O2 -g -DSQLITE_ENABLE_QPSG

.PHONY: run build test generate lint bench bench-compare e2e deps deps-browser clean

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
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md ROLODEX_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m -run TestImportBenchReport -v ./imports/
	# Export: 1M contacts as CSV and JSON lines over HTTP; size from ROLODEX_BENCH_N.
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md $(GO) test -count=1 -timeout 30m -run TestExportBenchReport -v ./handlers/
	# Live rooms; its sizes come from ROLODEX_BENCH_SSE_CONNS and the others in handlers/room_bench_test.go.
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md $(GO) test -count=1 -timeout 30m -run TestRoomBenchReport -v ./handlers/
	# Notification pipeline: a burst of activities, then digests due for many recipients; sizes from ROLODEX_BENCH_BURST and the others in notify/report_bench_test.go.
	ROLODEX_BENCH_OUT=$(CURDIR)/BENCHMARKS.md $(GO) test -count=1 -timeout 30m -run TestNotifyBenchReport -v ./notify/
	ROLODEX_BENCH_MEETINGS=1000000 ROLODEX_BENCH_CLIENTS=100000 $(GO) test -count=1 -timeout 60m ./store/ -run '^$$' -bench ListMeetings -benchtime 300x | tee /tmp/rolodex-bench-meetings.txt
	@{ echo; echo "## Meetings list (issue 3)"; echo; \
	  echo 'Command: `make bench`, which runs `ROLODEX_BENCH_MEETINGS=1000000 ROLODEX_BENCH_CLIENTS=100000 go test ./store/ -run ^$$ -bench ListMeetings -benchtime 300x`.'; \
	  echo '1M meetings over 100k clients; a page is 25 meetings, timed server-side (store call to items), over pages up to 20 deep.'; echo; \
	  echo '| path / user / query | p50 µs | p99 µs | other |'; echo '| --- | --- | --- | --- |'; \
	  awk '/^BenchmarkListMeetings\// { name=$$1; sub(/^BenchmarkListMeetings\//, "", name); sub(/-[0-9]+$$/, "", name); p50=""; p99=""; other=""; \
	    for (i = 3; i < NF; i += 2) { if ($$(i+1) == "p50-µs") p50=$$i; else if ($$(i+1) == "p99-µs") p99=$$i; else if ($$(i+1) != "ns/op") other=other $$i " " $$(i+1) " " } \
	    print "| " name " | " p50 " | " p99 " | " other "|" }' /tmp/rolodex-bench-meetings.txt; } >> BENCHMARKS.md
	@cat BENCHMARKS.md

# The company page and search, in process, at BASE and at the working tree,
# in one run: each benchmark alternates between the two builds so that
# what else the machine does falls on both alike. Appends benchstat's table
# to BENCHMARKS.md.
BASE  ?= HEAD~1
ROUNDS ?= 6
bench-compare: deps
	@rm -rf /tmp/rolodex-base && git worktree add -f --detach /tmp/rolodex-base $(BASE) >/dev/null
	@rm -f /tmp/rolodex-bench-base.txt /tmp/rolodex-bench-head.txt
	@for i in $$(seq $(ROUNDS)); do \
	  for side in base head; do \
	    dir=$(CURDIR); [ $$side = base ] && dir=/tmp/rolodex-base; \
	    (cd $$dir && $(GO) test -count=1 -run '^$$' -bench 'BenchmarkCompanyPage$$' -benchmem -cpu 1 ./handlers/ && \
	      ROLODEX_BENCH_N=20000 $(GO) test -count=1 -run '^$$' -bench 'BenchmarkSearch/(admin|staff50|staff1000)$$' -benchtime 2000x -cpu 1 ./search/) \
	      | grep '^Benchmark' >> /tmp/rolodex-bench-$$side.txt; \
	  done; \
	done
	@git worktree remove --force /tmp/rolodex-base
	@{ echo; echo "## Company page and search, $(BASE) against this tree ($$(git describe --always --dirty))"; echo; \
	  echo 'Command: `make bench-compare BASE=$(BASE)` ($(ROUNDS) alternating rounds, in process, one CPU; search over 20,000 companies and contacts).'; echo; \
	  echo '```'; $(GO) tool benchstat base=/tmp/rolodex-bench-base.txt head=/tmp/rolodex-bench-head.txt; echo '```'; } | tee -a BENCHMARKS.md

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
