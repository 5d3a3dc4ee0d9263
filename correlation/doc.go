// Package correlation holds edgewatch's detection logic and nothing else: no
// files, no network, no clock of its own.
//
// It parses threat-intelligence feeds (IPsum ipsum.txt, IPsum levels/N.txt,
// plain address and CIDR lists) into an IndicatorSet, computes the set of
// internet-facing (DeviceId, port) pairs from DeviceInfo rows (the seed query's
// arg_max), matches DeviceNetworkEvents rows against both, and builds the ECS
// alert document with its deterministic finding id.
//
// Everything that reads or writes data lives in connectors/; everything that
// runs the steps in order lives in internal/engine.
package correlation
