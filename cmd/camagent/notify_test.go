package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeNotify records what a notifier sends.
type fakeNotify struct {
	msgs chan string
	err  error
}

func newFakeNotifier(wd time.Duration) (*notifier, *fakeNotify) {
	f := &fakeNotify{msgs: make(chan string, 100)}
	n := &notifier{
		send:     func(s string) error { f.msgs <- s; return f.err },
		watchdog: wd,
		status:   func() string { return "streaming 640x480; 0 viewers" },
	}
	n.init()
	return n, f
}

func (f *fakeNotify) drain() []string {
	var out []string
	for {
		select {
		case m := <-f.msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

func TestNotifierReadyOnlyAfterFirstFrame(t *testing.T) {
	n, f := newFakeNotifier(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	n.OnFrame()
	if m := <-f.msgs; !strings.HasPrefix(m, "READY=1\nSTATUS=streaming") {
		t.Fatalf("first message %q, want READY=1 with a STATUS", m)
	}
	n.OnFrame() // later frames do not re-close the channel
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := f.drain(); len(got) != 1 || !strings.HasPrefix(got[0], "STOPPING=1") {
		t.Fatalf("after cancel: %q, want STOPPING=1", got)
	}
}

func TestNotifierNoReadyWithoutFrames(t *testing.T) {
	n, f := newFakeNotifier(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.drain(); len(got) != 1 || got[0] != "STOPPING=1" {
		t.Fatalf("sent %q, want only STOPPING=1", got)
	}
}

func TestNotifierWatchdogFollowsFrames(t *testing.T) {
	n, f := newFakeNotifier(2 * time.Second)
	n.OnFrame()
	n.watchdogTick()
	if got := f.drain(); len(got) != 1 || got[0] != "WATCHDOG=1" {
		t.Fatalf("frames flowed: sent %q, want WATCHDOG=1", got)
	}
	// Stalled: no ping, one stall STATUS, then silence.
	n.watchdogTick()
	got := f.drain()
	if len(got) != 1 || !strings.HasPrefix(got[0], "STATUS=capture stalled") {
		t.Fatalf("first stalled tick: sent %q, want one stall STATUS and no ping", got)
	}
	n.watchdogTick()
	if got := f.drain(); len(got) != 0 {
		t.Fatalf("second stalled tick: sent %q, want nothing", got)
	}
	if s := n.statusLine(); !strings.Contains(s, "no frame for over 2s") {
		t.Errorf("status while stalled: %q", s)
	}
	// Frames again: pings resume and the summary returns.
	n.OnFrame()
	n.watchdogTick()
	if got := f.drain(); len(got) != 1 || got[0] != "WATCHDOG=1" {
		t.Fatalf("frames resumed: sent %q, want WATCHDOG=1", got)
	}
	if s := n.statusLine(); !strings.HasPrefix(s, "streaming") {
		t.Errorf("status after recovery: %q", s)
	}
}

func TestNotifierSendFailureDoesNotStop(t *testing.T) {
	n, f := newFakeNotifier(time.Second)
	f.err = errors.New("connection refused")
	n.OnFrame()
	n.watchdogTick()
	n.OnFrame()
	n.watchdogTick()
	if !n.failing {
		t.Fatal("failure not noted")
	}
	f.err = nil
	n.OnFrame()
	n.watchdogTick()
	if n.failing {
		t.Fatal("recovery not noted")
	}
}

func TestNewNotifierEnvironment(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if n, err := newNotifier(nil, nil); n != nil || err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v, %v; want nil, nil", n, err)
	}
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "4000000")
	n, err := newNotifier(nil, nil)
	if err != nil || n == nil || n.watchdog != 4*time.Second {
		t.Fatalf("with WATCHDOG_USEC=4000000: %+v, %v; want a 4s watchdog", n, err)
	}
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := newNotifier(nil, nil); err == nil {
		t.Fatal("a bad WATCHDOG_USEC was accepted")
	}
}
