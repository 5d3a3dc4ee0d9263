// Package jsonscan is a small, allocation-free JSON scanner shared by the
// file and cluster connectors: it walks the members of one object (or the
// elements of one array) and hands back the raw bytes of each key and
// value, finding a string's end with bytes.IndexByte. It checks the
// structure it walks (quotes, colons, commas, balanced brackets, literals)
// but builds nothing; the decoders pick the few fields they need out of the
// raw values (a file row's columns, a search answer's hits, a hit's
// _source).
package jsonscan
