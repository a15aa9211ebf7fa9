# The two commands of the README: `make demo` and `make test`.
GO ?= go
BIN := bin/tokenssl
# Packages with concurrency run under the race detector.
RACE_PKGS := ./ssl/... ./token/...

.PHONY: all build demo test deps vet fmt-check fuzz-smoke clean

all: build

deps:
	bash scripts/install-deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/tokenssl

demo: deps build
	./$(BIN) demo

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: deps fmt-check vet
	$(GO) test -race -timeout 10m $(RACE_PKGS)
	$(GO) test -timeout 10m $$($(GO) list ./... | grep -v -E '/tokenssl/(ssl|token)(/|$$)')

clean:
	rm -rf bin
