package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// RetryPolicy bounds edgewatch's own retries (bulk rounds, idempotent
// calls) with exponential backoff and jitter (cenkalti/backoff/v5). They come
// on top of the official client's transport retries, which handle a single
// request; edgewatch's retries handle what only it can judge, such as bulk
// items that the cluster answered 429 inside a 200 response.
type RetryPolicy struct {
	Initial    time.Duration // first wait; default 200ms
	Max        time.Duration // longest wait; default 10s
	MaxTries   uint          // attempts including the first; default 6
	MaxElapsed time.Duration // give up after this long; default 2m
}

// DefaultRetry is the policy a Client starts with.
var DefaultRetry = RetryPolicy{Initial: 200 * time.Millisecond, Max: 10 * time.Second, MaxTries: 6, MaxElapsed: 2 * time.Minute}

// NoRetry runs an operation once.
var NoRetry = RetryPolicy{MaxTries: 1}

func (p RetryPolicy) withDefaults() RetryPolicy { return p.or(DefaultRetry) }

// or fills p's unset fields from base.
func (p RetryPolicy) or(base RetryPolicy) RetryPolicy {
	if p.Initial <= 0 {
		p.Initial = base.Initial
	}
	if p.Max <= 0 {
		p.Max = base.Max
	}
	if p.MaxTries == 0 {
		p.MaxTries = base.MaxTries
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = base.MaxElapsed
	}
	return p
}

func (p RetryPolicy) backOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Initial
	b.MaxInterval = p.Max
	b.Multiplier = 2
	b.RandomizationFactor = 0.3
	return b
}

// Retry runs op until it succeeds, returns an error that is not retryable
// (IsRetryable), the policy is spent, or ctx ends. notify, when not nil, is
// called before each wait. The last error is returned.
func Retry[T any](ctx context.Context, p RetryPolicy, op func() (T, error), notify func(err error, wait time.Duration)) (T, error) {
	p = p.withDefaults()
	opts := []backoff.RetryOption{
		backoff.WithBackOff(p.backOff()),
		backoff.WithMaxTries(p.MaxTries),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
	}
	if notify != nil {
		opts = append(opts, backoff.WithNotify(notify))
	}
	v, err := backoff.Retry(ctx, func() (T, error) {
		v, err := op()
		if err != nil && !IsRetryable(err) {
			return v, backoff.Permanent(err)
		}
		return v, err
	}, opts...)
	// On the last try backoff returns the wrapper itself; hand back the
	// error op returned.
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		err = perm.Err
	}
	return v, err
}
