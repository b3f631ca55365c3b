//go:build !camagent_testhooks

package main

import (
	"log/slog"

	"github.com/camagent/camagent/capture"
)

// withTestHooks returns src unchanged. A binary built with the tag
// camagent_testhooks (see testhooks_on.go) can stall its source on demand,
// for the interop tests of the systemd watchdog.
func withTestHooks(src capture.Source, _ *slog.Logger) capture.Source { return src }
