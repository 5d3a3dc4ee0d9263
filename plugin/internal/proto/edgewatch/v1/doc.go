// Package edgewatchv1 is the generated Go code of the frozen edgewatch plugin
// protocol, version 1 (detector.proto). It is internal to plugin/: protobuf
// types never appear in edgewatch's public Go API. Regenerate with
// `make proto` (scripts/proto.sh); the *.pb.go files are generated, DO NOT EDIT.
package edgewatchv1
