// Package testlog holds what tests need of logs. Main quiets the default
// slog logger: the packages that log their runs (incremental runs, serve,
// the admin operations) call it from their TestMain, so that `go test`
// shows the log lines only with -v, where they help to read a failure.
// Buffer collects log output written by other goroutines while the test
// reads it.
package testlog
