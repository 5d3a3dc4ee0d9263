# edgewatch — build, demo, test, bench.
# Quick start: `make demo` (detection over the bundled sample) and `make test`
# (the whole suite, real OpenSearch and Elasticsearch included).

GO        ?= go
BIN       := bin
PKGS      := ./...
SAMPLE    := testdata/sample
FUZZTIME  ?= 10s
export GOFLAGS ?= -buildvcs=false

IPSUM_DIR ?= ../shared/data/ipsum
OS_URL ?= http://127.0.0.1:9200
ES_URL ?= http://127.0.0.1:9201

.PHONY: all build demo test test-unit test-integration lint fuzz bench bench-cluster proto \
        clusters-up clusters-down clusters-secure-up clusters-secure-down clusters-3node-up \
        clusters-3node-down secure-check deps clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

## demo: run the detection over the bundled sample data and print the findings
demo: build
	./$(BIN)/edgewatch run \
		--device-info $(SAMPLE)/device_info.ndjson \
		--network-events $(SAMPLE)/network_events.ndjson \
		--feed $(SAMPLE)/feed.txt \
		--format table --out -

## test: the whole suite: lint, unit tests, fuzz smoke, integration tests against real clusters
# cmd/edgewatch runs on its own: its uninstall test removes and reinstalls the
# shared index templates, which must not race other packages' alert indices.
TEST_ENV = EDGEWATCH_REQUIRE_CLUSTERS=1 \
	EDGEWATCH_OPENSEARCH_URL=$(OS_URL) \
	EDGEWATCH_ELASTICSEARCH_URL=$(ES_URL) \
	EDGEWATCH_ELASTICSEARCH_USERNAME=edgewatch \
	EDGEWATCH_ELASTICSEARCH_PASSWORD_FILE=$(CURDIR)/.cache/clusters/elasticsearch.password \
	EDGEWATCH_REQUIRE_CHROMIUM=1 \
	EDGEWATCH_REQUIRE_DATA=1 \
	EDGEWATCH_IPSUM_DIR=$(abspath $(IPSUM_DIR)) \
	EDGEWATCH_BIN_DIR=$(CURDIR)/$(BIN)

test: deps build lint clusters-up
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/cmd/edgewatch$$')
	$(TEST_ENV) $(GO) test -count=1 -timeout 15m ./cmd/edgewatch
	$(MAKE) fuzz FUZZTIME=5s

## test-unit: tests that need no cluster (cluster tests skip)
test-unit:
	$(GO) test -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

## fuzz: run every fuzz target briefly
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: file-mode throughput and memory on a generated dataset (1M and 4M events)
bench: build
	./$(BIN)/edgewatch-gen bench --events 1000000 --compare 4000000

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
	rm -rf $(BIN)
