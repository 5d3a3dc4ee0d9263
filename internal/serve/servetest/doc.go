// Package servetest drives a running `edgewatch serve` over its HTTP API in
// tests: trigger a detection through the webhook and wait for the run.
package servetest
