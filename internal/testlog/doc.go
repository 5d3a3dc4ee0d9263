// Package testlog quiets the default slog logger in tests: the packages
// that log their runs (incremental runs, serve, the admin operations) call
// Main from their TestMain, so that `go test` shows the log lines only with
// -v, where they help to read a failure.
package testlog
