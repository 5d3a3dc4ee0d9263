package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// New connects with a background context bounded by cfg's timeout. See
// Connect.
func New(cfg cluster.Config, opts ...cluster.Option) (*cluster.Client, error) {
	return cluster.ConnectBounded(Connect, cfg, opts...)
}

// Connect builds the official client, checks that the server answers and is
// Elasticsearch (an OpenSearch server is refused with an error matching
// cluster.ErrWrongFlavor), and returns the store-neutral client.
func Connect(ctx context.Context, cfg cluster.Config, opts ...cluster.Option) (*cluster.Client, error) {
	d, err := NewDoer(cfg)
	if err != nil {
		return nil, err
	}
	c, err := cluster.Handshake(ctx, cluster.Elasticsearch, cfg, d, opts...)
	if isProductCheck(err) {
		// go-elasticsearch refuses a 2xx answer that lacks the
		// X-Elastic-Product header: the server is not Elasticsearch.
		return nil, cluster.ConnectError(cluster.Elasticsearch, cfg, fmt.Errorf("%w: the server is not Elasticsearch "+
			"(no X-Elastic-Product header; OpenSearch?): use the opensearch connector (--source opensearch)",
			cluster.ErrWrongFlavor))
	}
	return c, err
}

// isProductCheck recognises go-elasticsearch's product-check refusal (not
// Handshake's own wrong-flavor error).
func isProductCheck(err error) bool {
	return err != nil && !errors.Is(err, cluster.ErrWrongFlavor) && strings.Contains(err.Error(), "not Elasticsearch")
}

// Doer sends cluster requests through go-elasticsearch's Perform.
type Doer struct {
	client  *elasticsearch.Client
	timeout time.Duration
}

// NewDoer builds the official client without contacting the server.
func NewDoer(cfg cluster.Config) (*Doer, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	tr, err := cfg.HTTPTransport()
	if err != nil {
		return nil, err
	}
	retries, disable := cfg.EffectiveMaxRetries()
	ec := elasticsearch.Config{
		Addresses:     cfg.URLs,
		Transport:     tr,
		RetryOnStatus: cluster.RetryStatuses,
		MaxRetries:    retries,
		DisableRetry:  disable,
		RetryBackoff:  cluster.RetryBackoff,
		RetryOnError: func(_ *http.Request, err error) bool {
			// Network failures, not a caller that gave up nor a TLS
			// failure (a certificate does not verify on the next try).
			return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !cluster.IsTLSError(err)
		},
	}
	if cfg.APIKey != "" {
		ec.APIKey = cfg.APIKey
	} else {
		ec.Username, ec.Password = cfg.Username, cfg.Password
	}
	c, err := elasticsearch.NewClient(ec)
	if err != nil {
		return nil, cluster.ConfigErrorf("elasticsearch client: %s", cluster.Redact(err.Error(), cfg.Secrets()...))
	}
	return &Doer{client: c, timeout: cfg.EffectiveTimeout()}, nil
}

// Do performs one request, bounded by the configured timeout. The client's
// transport retries 429/502/503/504 and network errors with backoff.
func (d *Doer) Do(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
	return cluster.Perform(ctx, d.timeout, req, d.client.Perform)
}

// Client is the underlying official client, for APIs edgewatch does not
// wrap.
func (d *Doer) Client() *elasticsearch.Client { return d.client }

var _ cluster.Doer = (*Doer)(nil)
