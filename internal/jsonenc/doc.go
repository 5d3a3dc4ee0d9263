// Package jsonenc holds append-style JSON encoding helpers that write
// exactly what encoding/json writes, without reflection or allocation: the
// alert encoder (correlation.Alert.AppendJSON) and the dataset generator
// build their documents with them.
package jsonenc
