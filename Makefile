# The two commands of the README: `make demo` and `make test`.
GO ?= go
BIN := bin/tokenssl
# Packages with concurrency (the engine and the token backends, the
# SoftHSM card emulator among them) run under the race detector.
RACE_PKGS := ./ssl/... ./token/... ./softhsm/...

.PHONY: all build demo test deps test-deps vet fmt-check clean fortezza-module fortezza-module-deps bench

# The Fortezza card PKCS#11 module (internal/fortezzacard, C): SoftHSM2
# plus KEA and SKIPJACK. Tests find it at bin/libfortezzacard.so from the
# repository root (or FORTEZZA_MODULE).
FORTEZZA_MODULE := bin/libfortezzacard.so
FORTEZZA_SRC := $(wildcard internal/fortezzacard/*.c internal/fortezzacard/*.h)
CC ?= cc
FORTEZZA_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-cast-function-type -fPIC -fvisibility=hidden \
	-Itoken/pkcs11/internal/p11fortezza/third_party

all: build

# softhsm2 and opensc (the demo and the token tests).
deps:
	bash scripts/install-deps.sh

# Also the independent SSL 3.0 peers the interop tests run against (NSS
# tools, openssl, the zcrypto peer's Go modules), and redis-server for the
# shared session cache's tests, and tcpdump and tshark for the key-log test.
test-deps: deps
	bash scripts/install-peers.sh
	bash scripts/install-redis.sh
	bash scripts/install-capture.sh

fortezza-module-deps:
	bash scripts/install-fortezza-module-deps.sh

fortezza-module: $(FORTEZZA_MODULE)

$(FORTEZZA_MODULE): $(FORTEZZA_SRC)
	@mkdir -p bin
	$(CC) $(FORTEZZA_CFLAGS) -o bin/sjtest internal/fortezzacard/sjtest.c internal/fortezzacard/skipjack.c
	./bin/sjtest
	$(CC) $(FORTEZZA_CFLAGS) -shared -o $@ internal/fortezzacard/module.c internal/fortezzacard/skipjack.c -lcrypto -ldl -lpthread

build:
	$(GO) build -o $(BIN) ./cmd/tokenssl

demo: deps fortezza-module-deps fortezza-module build
	./$(BIN) demo

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Root is needed only to install missing packages: with them installed the
# scripts change nothing, and the interop tests that need a network
# namespace (root / CAP_SYS_ADMIN) skip, saying so.
test: test-deps fortezza-module-deps fortezza-module fmt-check vet
	$(GO) test -race -timeout 10m $(RACE_PKGS)
	$(GO) test -timeout 10m $$($(GO) list ./... | grep -v -E '/tokenssl/(ssl|token|softhsm)(/|$$)')

# Server CPU and heap beside crypto/tls and the raw crypto (issue 15):
# about three minutes on two cores; BENCH_FLAGS=-quick for a smoke run.
bench: deps
	$(GO) run ./bench/cmd/sslbench $(BENCH_FLAGS)

clean:
	rm -rf bin
