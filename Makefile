# Yinzheng build targets. `make demo` and `make test` are the contract with a new user.
GO        ?= go
PKGS      := ./...
STATICCHECK_VERSION := v0.7.0
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" failure when a duration -fuzztime expires while a
# worker is mid-call (go.dev/issue/75804, fixed only in Go 1.27). A count has no
# deadline to race. 50000 executions take 1-10 s per target on two cores.
FUZZTIME  ?= 50000x
BIN       := bin/yinzheng

.PHONY: all build wallet-web e2e test test-short fuzz-short crash demo bench bench-full lint vet fmt-check staticcheck clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/yinzheng

## wallet-web: the browser wallet's page and WebAssembly engine as files
## for any static host, in bin/wallet-web/ (`yinzheng serve wallet` serves
## them for development).
wallet-web: build
	./$(BIN) serve wallet --export bin/wallet-web

## e2e: the end-to-end tests, the browser wallet in headless Chromium with
## its screenshots in bench/out/screenshots/ (docs/wallet-web.png is one).
e2e:
	YINZHENG_E2E_FULL=1 YINZHENG_SCREENSHOTS=$(CURDIR)/bench/out/screenshots YINZHENG_BROWSER_PROOFS=6 $(GO) test -count=1 -v -run 'TestEndToEnd|TestBrowserWallet' ./e2e/

## test: vet, lint and the whole test suite, plus a short fuzzing pass.
test: lint
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz-short

## fuzz-short: a short coverage-guided run of every fuzz target (seeded from testdata).
fuzz-short:
	@for target in $$($(GO) run ./internal/tools/fuzztargets); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## crash: the kill -9 crash suite of docs/durability.md, 200 trials (a few
## minutes); `make test` runs a short version. Replay a failure with the
## seed it prints: YINZHENG_CRASH_SEED=N make crash.
CRASH_TRIALS ?= 200
crash:
	YINZHENG_CRASH_TRIALS=$(CRASH_TRIALS) $(GO) test -count=1 -v -timeout 60m -run '^TestCrashSuite$$' ./internal/crashtest/

## demo: the main job end to end on embedded defaults, in a temporary directory.
demo: build
	./$(BIN) demo

## bench: the quick benchmark suite (under 3 minutes with cached development keys):
## results.json, results.csv, plots and report.md in bench/out/ (docs/bench.md).
bench: build
	./$(BIN) bench suite --quick --out bench/out/

## bench-full: the full suite (11 runs, PLONK at every depth, 10^7 accumulator leaves)
## and the Go benchmarks of the packages.
bench-full: build
	./$(BIN) bench suite --out bench/out/
	$(GO) test -run='^$$' -bench=. -benchmem ./jose/ ./sdjwt/ ./circuits/... ./revocation/

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

clean:
	rm -rf bin
