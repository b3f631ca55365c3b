package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// statusEvery is how often STATUS= is refreshed once the agent is ready.
const statusEvery = 10 * time.Second

// notifier speaks systemd's notify protocol (through go-systemd's daemon
// package) for a Type=notify service:
//
//   - READY=1 once the RTSP listener is up (it is bound before the notifier
//     starts) and the first frame has gone through the pipeline;
//   - STATUS= with a one-line summary (mode, viewers) every statusEvery;
//   - WATCHDOG=1 every half watchdog interval, but only if frames have
//     flowed since the previous ping. A camera that stops delivering
//     frames therefore stops the pings and systemd restarts the service;
//     an idle server with no viewers keeps pinging, since frames still flow;
//   - STOPPING=1 when the agent shuts down.
//
// Without NOTIFY_SOCKET (not started by systemd) it does nothing.
type notifier struct {
	// send delivers one notify message (default: daemon.SdNotify).
	send func(state string) error
	// watchdog is systemd's watchdog interval (WATCHDOG_USEC); 0 = none.
	watchdog time.Duration
	// status returns the one-line summary sent as STATUS=.
	status func() string
	log    *slog.Logger

	frames atomic.Uint64
	first  chan struct{}

	// Owned by the Run goroutine.
	lastPinged  uint64
	stalledTick int  // consecutive watchdog ticks without a frame
	failing     bool // the last notify failed (logged once)
}

// newNotifier reads NOTIFY_SOCKET and WATCHDOG_USEC from the environment.
// It returns nil when systemd is not listening.
func newNotifier(status func() string, log *slog.Logger) (*notifier, error) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil, nil
	}
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("systemd watchdog: %w", err)
	}
	n := &notifier{
		send: func(state string) error {
			_, err := daemon.SdNotify(false, state)
			return err
		},
		watchdog: wd,
		status:   status,
		log:      log,
	}
	n.init()
	return n, nil
}

func (n *notifier) init() {
	n.first = make(chan struct{})
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
}

// OnFrame counts a frame that reached the stream. It is the pipeline's
// OnFrame hook: called from the capture goroutine, it never blocks.
func (n *notifier) OnFrame() {
	if n.frames.Add(1) == 1 {
		close(n.first)
	}
}

// Run waits for the first frame, says READY=1, then keeps STATUS= fresh
// and feeds the watchdog until ctx is done.
func (n *notifier) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		n.notify("STOPPING=1")
		return nil
	case <-n.first:
	}
	n.notify("READY=1\nSTATUS=" + n.status())
	n.lastPinged = n.frames.Load()

	status := time.NewTicker(statusEvery)
	defer status.Stop()
	var wdC <-chan time.Time
	if n.watchdog > 0 {
		wd := time.NewTicker(n.watchdog / 2)
		defer wd.Stop()
		wdC = wd.C
		n.log.Info("systemd watchdog on", "interval", n.watchdog)
	}
	for {
		select {
		case <-ctx.Done():
			n.notify("STOPPING=1\nSTATUS=stopping")
			return nil
		case <-status.C:
			n.notify("STATUS=" + n.statusLine())
		case <-wdC:
			n.watchdogTick()
		}
	}
}

// watchdogTick pings the watchdog if frames flowed since the last ping.
func (n *notifier) watchdogTick() {
	f := n.frames.Load()
	if f != n.lastPinged {
		if n.stalledTick > 0 {
			n.log.Info("frames flow again; feeding the systemd watchdog")
		}
		n.lastPinged, n.stalledTick = f, 0
		n.notify("WATCHDOG=1")
		return
	}
	n.stalledTick++
	if n.stalledTick == 1 {
		n.log.Warn("no frame captured for half the watchdog interval; not feeding the systemd watchdog, so systemd restarts the agent if the camera stays stalled",
			"watchdog", n.watchdog)
		n.notify("STATUS=" + n.statusLine())
	}
}

// statusLine is the summary, or a stall notice while frames do not flow.
func (n *notifier) statusLine() string {
	if n.stalledTick > 0 {
		return fmt.Sprintf("capture stalled: no frame for over %v", time.Duration(n.stalledTick)*n.watchdog/2)
	}
	return n.status()
}

func (n *notifier) notify(state string) {
	err := n.send(state)
	switch {
	case err != nil && !n.failing:
		kind, _, _ := strings.Cut(state, "=")
		n.log.Warn("cannot notify systemd; further failures are not logged until it works again", "msg", kind, "err", err)
		n.failing = true
	case err == nil && n.failing:
		n.log.Info("notifying systemd works again")
		n.failing = false
	}
}
