package engine

import (
	"fmt"

	"github.com/edgewatch/edgewatch/connectors/file"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// openFileBackend is the embedded default: Defender exports and feed files on
// disk; alerts go to the observer only.
func openFileBackend(s wire.Settings) (*Backend, error) {
	if len(s.DeviceInfo) == 0 {
		return nil, fmt.Errorf("%w: file source needs at least one --device-info file", ErrConfig)
	}
	if len(s.NetworkEvents) == 0 {
		return nil, fmt.Errorf("%w: file source needs at least one --network-events file", ErrConfig)
	}
	src := file.New(file.Options{DeviceInfo: s.DeviceInfo, NetworkEvents: s.NetworkEvents})
	return &Backend{Source: src}, nil
}
