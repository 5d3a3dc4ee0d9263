package opensearch

import (
	"context"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// New connects with a background context bounded by cfg's timeout. See
// Connect.
func New(cfg cluster.Config, opts ...cluster.Option) (*cluster.Client, error) {
	return cluster.ConnectBounded(Connect, cfg, opts...)
}

// Connect builds the official client, checks that the server answers and is
// OpenSearch (an Elasticsearch server is refused with an error matching
// cluster.ErrWrongFlavor), and returns the store-neutral client.
func Connect(ctx context.Context, cfg cluster.Config, opts ...cluster.Option) (*cluster.Client, error) {
	d, err := NewDoer(cfg)
	if err != nil {
		return nil, err
	}
	return cluster.Handshake(ctx, cluster.OpenSearch, cfg, d, opts...)
}

// Doer sends cluster requests through opensearch-go's transport.
type Doer struct {
	client  *opensearch.Client
	timeout time.Duration
}

// NewDoer builds the official client without contacting the server.
func NewDoer(cfg cluster.Config) (*Doer, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	if cfg.APIKey != "" {
		return nil, cluster.ConfigErrorf("OpenSearch has no API keys: use username and password")
	}
	tr, err := cfg.HTTPTransport()
	if err != nil {
		return nil, err
	}
	retries, disable := cfg.EffectiveMaxRetries()
	c, err := opensearch.NewClient(opensearch.Config{
		Addresses:            cfg.URLs,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Transport:            tr,
		RetryOnStatus:        cluster.RetryStatuses,
		MaxRetries:           retries,
		DisableRetry:         disable,
		EnableRetryOnTimeout: true,
		RetryBackoff:         cluster.RetryBackoff,
		// One node per URL as configured: no sniffing, no health probes.
		DiscoverNodesOnStart:  new(bool),
		HealthCheckMaxRetries: -1,
		MaxRetryClusterHealth: -1,
	})
	if err != nil {
		return nil, cluster.ConfigErrorf("opensearch client: %s", cluster.Redact(err.Error(), cfg.Secrets()...))
	}
	return &Doer{client: c, timeout: cfg.EffectiveTimeout()}, nil
}

// Do performs one request, bounded by the configured timeout. The client's
// transport retries 429/502/503/504 and network errors with backoff.
func (d *Doer) Do(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
	return cluster.Perform(ctx, d.timeout, req, d.client.Stream)
}

// Client is the underlying official client, for APIs edgewatch does not
// wrap.
func (d *Doer) Client() *opensearch.Client { return d.client }

// Close releases the client's idle connections.
func (d *Doer) Close() error { return d.client.Close() }

var _ cluster.Doer = (*Doer)(nil)
