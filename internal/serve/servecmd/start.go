package servecmd

import (
	"errors"

	"github.com/cenkalti/backoff/v5"

	"github.com/edgewatch/edgewatch/plugin"
)

// permanentStartError marks the plugin start failures that no restart can
// cure — a binary whose checksum is not the expected one, a missing
// binary, another protocol version — so that the supervisor reports them
// at once instead of retrying with backoff for minutes (under systemd,
// the unit then fails and says why).
func permanentStartError(err error) error {
	if errors.Is(err, plugin.ErrChecksumMismatch) || errors.Is(err, plugin.ErrPluginNotFound) || errors.Is(err, plugin.ErrIncompatible) {
		return backoff.Permanent(err)
	}
	return err
}
