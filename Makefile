# The two commands of the README: `make demo` and `make test`.
GO ?= go
BIN := bin/tokenssl
# Packages with concurrency (the engine and the token backends, the
# SoftHSM card emulator among them) run under the race detector.
RACE_PKGS := ./ssl/... ./token/... ./softhsm/...

.PHONY: all build demo test deps test-deps vet fmt-check clean bench

all: build

# softhsm2 and opensc (the demo and the token tests).
deps:
	bash scripts/install-deps.sh

# Also the independent SSL 3.0 peers the interop tests run against (NSS
# tools, openssl, the zcrypto peer's Go modules).
test-deps: deps
	bash scripts/install-peers.sh

build:
	$(GO) build -o $(BIN) ./cmd/tokenssl

demo: deps build
	./$(BIN) demo

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: test-deps fmt-check vet
	$(GO) test -race -timeout 10m $(RACE_PKGS)
	$(GO) test -timeout 10m $$($(GO) list ./... | grep -v -E '/tokenssl/(ssl|token|softhsm)(/|$$)')

# Server CPU and heap beside crypto/tls and the raw crypto (issue 15):
# about three minutes on two cores; BENCH_FLAGS=-quick for a smoke run.
bench: deps
	$(GO) run ./bench/cmd/sslbench $(BENCH_FLAGS)

clean:
	rm -rf bin
