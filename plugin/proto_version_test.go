package plugin

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

const protoFile = "internal/proto/edgewatch/v1/detector.proto"

// TestProtocolVersionMatchesProto keeps the Go handshake version, the .proto
// source and the compiled descriptor in step.
func TestProtocolVersionMatchesProto(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(protoFile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^option \(protocol_version\) = (\d+);`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s: no `option (protocol_version) = N;` line", protoFile)
	}
	declared, _ := strconv.Atoi(string(m[1]))
	pkg := regexp.MustCompile(`(?m)^package edgewatch\.plugin\.v(\d+);`).FindSubmatch(src)
	if pkg == nil {
		t.Fatalf("%s: package is not edgewatch.plugin.vN", protoFile)
	}
	pkgVersion, _ := strconv.Atoi(string(pkg[1]))

	opts, ok := pb.File_edgewatch_v1_detector_proto.Options().(*descriptorpb.FileOptions)
	if !ok {
		t.Fatal("compiled descriptor has no file options")
	}
	compiled, _ := proto.GetExtension(opts, pb.E_ProtocolVersion).(int32)

	for what, v := range map[string]int{
		"the .proto's protocol_version option":  declared,
		"the .proto's package suffix":           pkgVersion,
		"the generated code's protocol_version": int(compiled),
	} {
		if v != ProtocolVersion {
			t.Errorf("MAINTAINER NOTE: plugin.ProtocolVersion is %d but %s is %d. A breaking protocol change "+
				"needs a new edgewatch/vN/detector.proto (package edgewatch.plugin.vN, protocol_version N), "+
				"regenerated code (make proto) and ProtocolVersion = N; additive changes keep all three.",
				ProtocolVersion, what, v)
		}
	}
	if int(handshake.ProtocolVersion) != ProtocolVersion {
		t.Errorf("handshake version %d != ProtocolVersion %d", handshake.ProtocolVersion, ProtocolVersion)
	}
}

// TestMagicCookieNeverChanges pins the cookie: changing it breaks every
// released host/plugin pair.
func TestMagicCookieNeverChanges(t *testing.T) {
	t.Parallel()
	if MagicCookieKey != "EDGEWATCH_PLUGIN_MAGIC_COOKIE" ||
		MagicCookieValue != "5b0d0d4c9a7e4f6b8c3f1e2a7d9b6c40-edgewatch-detector" {
		t.Error("the magic cookie must never change")
	}
}
