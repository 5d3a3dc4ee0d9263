// Package wire holds every value that crosses the edgewatch plugin boundary,
// declared once for both sides: the run [Settings] (and the secret keys
// that travel next to them), the run [Summary] and [Progress], the admin
// operations as typed descriptors ([Op]) with their argument and result
// types, the incremental-detection values (a detection's [Config], a
// [Window], an [Outcome], a [DetectionStatus]), the step outcomes of
// install and uninstall, the state-index documents the host reads back, and
// the names of the indices edgewatch keeps in a cluster.
//
// Who uses it:
//   - the host (internal/cli, internal/serve) fills args and reads results;
//   - the plugin (cmd/edgewatch-defender-ti) decodes args, fills results and
//     writes the state documents;
//   - package plugin carries them over the frozen gRPC protocol, where
//     settings, args and results travel as JSON (plugin.Call and
//     plugin.Handle do the encoding).
//
// It imports the standard library only, so that every package of the module
// may use it: adding a field here is the whole change a new option needs on
// the wire. JSON field names are the protocol: rename a Go field freely,
// never its tag.
package wire
