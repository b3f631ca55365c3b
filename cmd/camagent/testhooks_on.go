//go:build camagent_testhooks

package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/camagent/camagent/capture"
)

// withTestHooks wraps src so that tests can stall it, as a hung camera
// would: SIGUSR1 toggles the stall, and CAMAGENT_TEST_STALLED=1 starts
// stalled. A stalled Next blocks until the stall ends or ctx is done.
// Only binaries built with -tags camagent_testhooks have this.
func withTestHooks(src capture.Source, log *slog.Logger) capture.Source {
	s := &stallable{Source: src, wake: make(chan struct{}, 1)}
	s.stalled.Store(os.Getenv("CAMAGENT_TEST_STALLED") == "1")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			now := !s.stalled.Load()
			s.stalled.Store(now)
			log.Info("test hook: source stall toggled", "stalled", now)
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}()
	return s
}

// stallable is a capture.Source that delivers nothing while stalled is set.
type stallable struct {
	capture.Source
	stalled atomic.Bool
	wake    chan struct{} // a token after every change of stalled
}

func (s *stallable) Next(ctx context.Context) (*capture.Frame, error) {
	for s.stalled.Load() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.wake:
		}
	}
	return s.Source.Next(ctx)
}
