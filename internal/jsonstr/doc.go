// Package jsonstr appends strings to JSON being written by hand, for the hot
// paths that build JSON rows byte by byte (the CSV reader of connectors/file,
// the dataset generator) instead of through encoding/json.
package jsonstr
