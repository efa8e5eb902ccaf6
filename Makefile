# The two commands a newcomer needs: `make run` and `make test`.
GO  ?= go
NPM ?= npm

.PHONY: run test web build test-go test-web test-browser vet chromium clean cluster cluster-stop bench

## run: build the web client and start the all-in-one on http://localhost:8000
run: web
	$(GO) run ./cmd/parley

## test: vet, then every test: Go (race detector on), web unit tests, browser tests
test: vet test-go test-web test-browser

vet:
	@unformatted=$$(gofmt -l cmd pkg test web); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test-go: web
	$(GO) test -race -timeout 20m ./...

test-web: web/node_modules
	cd web && $(NPM) test

test-browser: build
	cd web && PARLEY_BIN=$(CURDIR)/bin/parley $(NPM) run test:e2e

## web: install the web client's packages and build it into web/dist
web: web/node_modules
	cd web && $(NPM) run build

web/node_modules: web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@# A go.mod here keeps any Go files an npm package ships out of ./...
	@printf 'module parley.invalid/node_modules\n' > web/node_modules/go.mod
	@touch web/node_modules

## build: the four commands, with the web client embedded, into bin/
build: web
	$(GO) build -o bin/ ./cmd/parley ./cmd/edge ./cmd/auth ./cmd/archiver

## cluster: three NATS nodes, auth, two archivers and two edges on this machine,
## against the local Redis and PostgreSQL; Ctrl-C (or make cluster-stop) stops them
cluster:
	scripts/cluster.sh start

cluster-stop:
	scripts/cluster.sh stop

## bench: 60 seconds of load on the running cluster, then the checker
## (BENCH_FLAGS adds to or overrides the flags, e.g. BENCH_FLAGS=-rate=400)
bench:
	$(GO) run ./cmd/parley bench -auth-url http://127.0.0.1:18001 -api-url http://127.0.0.1:18002 \
		-edges http://127.0.0.1:18010,http://127.0.0.1:18011 -duration 60s $(BENCH_FLAGS)

## chromium: install Debian's Chromium for the browser tests (needs root)
chromium:
	@command -v chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

clean:
	rm -rf bin web/dist/assets web/dist/index.html
