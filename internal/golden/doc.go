// Package golden is the tests' golden-file check: a test compares what it
// produced with a file it keeps (under testdata/, or a generated file the
// package embeds), and `go test -update` rewrites the file instead. The
// -update flag is this package's, so a test package that imports it does
// not declare its own.
package golden
