// Package testlog quiets the default slog logger in tests: the packages
// that log their runs (incremental runs, serve, the admin operations) call
// Main from their TestMain, so that `go test` shows the log lines only with
// -v, where they help to read a failure. Buffer collects the log output a
// test reads while goroutines write it.
package testlog
