// Package correlation holds edgewatch's detection logic and nothing else: no
// files, no network, no clock of its own.
//
// It parses threat-intelligence feeds (IPsum ipsum.txt, IPsum levels/N.txt,
// plain address and CIDR lists) into an IndicatorSet, computes the set of
// internet-facing (DeviceId, port) pairs from DeviceInfo rows (the seed query's
// arg_max), matches DeviceNetworkEvents rows against both, and builds the ECS
// alert document with its deterministic finding id.
//
// Where things are:
//   - model.go, alert.go: the shared row and alert types (contracts);
//     Location, like FeedReport, is declared in plugin/wire.
//   - feed.go: ParseFeed, FeedOptions, FeedReport (declared in plugin/wire,
//     which imports the standard library only: a run summary carries it),
//     LevelFromFileName.
//   - indicators.go, nonglobal.go: IndicatorSet and the non-global filter.
//   - facing.go, facingfields.go: FacingBuilder, FacingSet, ParseInternetFacing.
//   - match.go: Matcher, Rule, the miss reasons.
//   - newalert.go, severity.go, finding.go: the alert document, its severity
//     and its id.
//
// Built sets (IndicatorSet after loading, FacingSet, Matcher) are read-only
// and safe for concurrent use.
//
// Everything that reads or writes data lives in connectors/; everything that
// runs the steps in order lives in internal/engine.
package correlation
