# edgewatch — build, demo, test, bench, package.
# Quick start: `make demo` (detection over the bundled sample) and `make test`
# (the whole suite, real OpenSearch and Elasticsearch included).

GO        ?= go
BIN       := bin
PKGS      := ./...
SAMPLE    := testdata/sample
FUZZTIME  ?= 10s
export GOFLAGS ?= -buildvcs=false

IPSUM_DIR ?= testdata/ipsum
OS_URL ?= http://127.0.0.1:9200
ES_URL ?= http://127.0.0.1:9201

.PHONY: all build demo test test-unit test-integration test-faults soak lint fuzz bench bench-cluster proto \
        clusters-up clusters-down clusters-secure-up clusters-secure-down clusters-3node-up \
        clusters-3node-down secure-check deps clean package cross

all: build

# Build identity stamped into bin/ (internal/version). The date is the
# commit's, so that rebuilding an unchanged tree relinks nothing;
# `make package` stamps the build time (or $$SOURCE_DATE_EPOCH).
VERSION_PKG := github.com/edgewatch/edgewatch/internal/version
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null)
LDFLAGS := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(DATE)

# Static binaries, as the packages are (packaging/): the benchmarks measure
# what ships, and each process starts without the dynamic loader (~1 ms).
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## package: .deb, .rpm and .tar.gz for linux/amd64 and linux/arm64 into dist/ (packaging/)
# PACKAGE_FLAGS passes --version, --commit, --date, --arch or --format through.
PACKAGE_FLAGS ?=
package:
	$(GO) run ./packaging --out dist $(PACKAGE_FLAGS)

## demo: run the detection over the bundled sample data and print the findings
demo: build
	./$(BIN)/edgewatch run \
		--device-info $(SAMPLE)/device_info.ndjson \
		--network-events $(SAMPLE)/network_events.ndjson \
		--feed $(SAMPLE)/feed.txt \
		--format table --out -

## test: the whole suite: lint, unit tests, fuzz smoke, integration tests against real clusters
# (the plain servers and the secured ones: TLS, least-privileged roles, API keys)
# The Go tests run through scripts/with-secure-env.sh, which exports the secured
# servers' settings (`scripts/cluster.sh env <flavor> --secure`) and
# EDGEWATCH_REQUIRE_SECURE=1: the secured tests fail, never skip.
# cmd/edgewatch-defender-ti (the end-to-end tests through the built host and
# plugin) runs on its own: its uninstall test removes and reinstalls the
# shared index templates, which must not race other packages' alert indices.
# packaging/ runs last, alone: it builds the amd64 packages and (under CI=true
# or EDGEWATCH_REQUIRE_PACKAGE_INSTALL=1, as root) installs and purges the .deb,
# which puts a plugin in /usr/lib/edgewatch/plugins while it runs.
TEST_ENV = EDGEWATCH_REQUIRE_CLUSTERS=1 \
	EDGEWATCH_OPENSEARCH_URL=$(OS_URL) \
	EDGEWATCH_ELASTICSEARCH_URL=$(ES_URL) \
	EDGEWATCH_ELASTICSEARCH_USERNAME=edgewatch \
	EDGEWATCH_ELASTICSEARCH_PASSWORD_FILE="$(CURDIR)/.cache/clusters/elasticsearch.password" \
	EDGEWATCH_REQUIRE_CHROMIUM=1 \
	EDGEWATCH_REQUIRE_DATA=1 \
	EDGEWATCH_IPSUM_DIR="$(abspath $(IPSUM_DIR))" \
	EDGEWATCH_BIN_DIR="$(CURDIR)/$(BIN)" \
	EDGEWATCH_REQUIRE_PACKAGE=1
SECURE_ENV = scripts/with-secure-env.sh

test: deps build lint cross clusters-up clusters-secure-up
	$(TEST_ENV) $(SECURE_ENV) $(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v -e '/cmd/edgewatch-defender-ti$$' -e '/packaging$$' -e '/internal/faults$$')
	$(TEST_ENV) $(SECURE_ENV) $(GO) test -count=1 -timeout 20m ./cmd/edgewatch-defender-ti
	$(TEST_ENV) $(GO) test -count=1 -timeout 20m ./packaging
	$(MAKE) test-faults
	$(MAKE) fuzz FUZZTIME=5s

## test-faults: node loss on the three-node OpenSearch cluster (started if needed): a data node
## stopped and killed in the middle of a point-in-time read and of a bulk write, an index without
## replicas losing its node; the checkpoint never passes a failed window, 0 lost / duplicate alerts.
## Part of `make test` (run alone, after the packaging tests): 1.7 min quiet, 5.4 min under load, plus ~1.6 min to start the cluster.
test-faults: clusters-3node-up
	eval "$$(scripts/cluster.sh env opensearch --nodes 3)" && EDGEWATCH_REQUIRE_3NODE=1 \
		$(GO) test -count=1 -timeout 20m -v -run TestNodeLoss ./cmd/edgewatch-defender-ti/internal/faults

## soak: edgewatch serve against the three-node cluster while events arrive and the plugin, the host,
## nodes and a second serve fail at random; then 0 lost / duplicate / extra alerts against a
## file-mode run. SOAK_DURATION (default 5m, at most 10m, catch-up included), SOAK_SEED (0: clock).
SOAK_DURATION ?= 5m
SOAK_SEED     ?= 0
soak: build clusters-3node-up
	eval "$$(scripts/cluster.sh env opensearch --nodes 3)" && \
		./$(BIN)/edgewatch-soak --duration $(SOAK_DURATION) --seed $(SOAK_SEED)

## test-unit: tests that need no cluster (cluster tests skip)
test-unit:
	$(GO) test -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

## cross: the code and its tests build for the other systems a contributor may use: macOS and
## Windows (go vet, tests included). Linux-only tools (the soak) say so there. Part of `make test`;
## ~3 min with a cold build cache.
cross:
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

## fuzz: run every fuzz target briefly
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: file-mode throughput and memory on generated datasets (1M and 4M events, vs encoding/json),
## and the alert-heavy run through host + plugin vs DuckDB (scripts/bench.sh; RUNS=N, PROFILE=1)
bench: build
	BIN=$(BIN) scripts/bench.sh

## bench-cluster: detection against the running OpenSearch vs its own floor and a naive baseline
bench-cluster: build clusters-up
	./$(BIN)/edgewatch-bench-cluster --url $(OS_URL) --feed $(IPSUM_DIR)/ipsum.txt

proto:
	scripts/proto.sh

clusters-up:
	scripts/cluster.sh start opensearch
	scripts/cluster.sh start elasticsearch

clusters-down:
	-scripts/cluster.sh stop opensearch
	-scripts/cluster.sh stop elasticsearch

## clusters-secure-up: TLS + authentication: OpenSearch 2.19.4 + security on https://127.0.0.1:9210,
## Elasticsearch 8.19.21 on https://127.0.0.1:9211 (`scripts/cluster.sh env <flavor> --secure`)
clusters-secure-up: deps
	scripts/cluster.sh start opensearch --secure
	scripts/cluster.sh start elasticsearch --secure

clusters-secure-down:
	-scripts/cluster.sh stop opensearch --secure
	-scripts/cluster.sh stop elasticsearch --secure

## clusters-3node-up: a three-node OpenSearch 2.19.6 cluster on 127.0.0.1:9220-9222 (fault tests)
clusters-3node-up: deps
	scripts/cluster.sh start opensearch --nodes 3

clusters-3node-down:
	-scripts/cluster.sh stop opensearch --nodes 3

## secure-check: proves the roles in dashboards/security/ on the secured servers (curl, pass/fail table)
secure-check: clusters-secure-up
	scripts/secure-check.sh

deps:
	scripts/deps.sh

clean:
	rm -rf $(BIN) dist
