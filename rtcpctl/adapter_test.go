package rtcpctl

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/stream"
	"github.com/camagent/camagent/stream/report"
)

var _ stream.Feedback = (*Adapter)(nil)

// fakeEncoder records what it was told; it has the knobs jpegsw has.
type fakeEncoder struct {
	mu        sync.Mutex
	quality   []int
	fps       []int
	keyframes int
}

func (e *fakeEncoder) Knobs() encode.Knob   { return encode.KnobQuality | encode.KnobFramerate }
func (e *fakeEncoder) SetBitrate(int) error { return encode.ErrNoKnob }
func (e *fakeEncoder) SetQuality(q int) error {
	e.mu.Lock()
	e.quality = append(e.quality, q)
	e.mu.Unlock()
	return nil
}
func (e *fakeEncoder) SetFramerate(fps int) error {
	e.mu.Lock()
	e.fps = append(e.fps, fps)
	e.mu.Unlock()
	return nil
}
func (e *fakeEncoder) ForceKeyframe() { e.mu.Lock(); e.keyframes++; e.mu.Unlock() }

var _ encode.Tunable = (*fakeEncoder)(nil)

// fakeSessions stands in for the server.
type fakeSessions struct {
	obs  []stream.SessionObservation
	thin map[string]stream.Thinning
}

func (f *fakeSessions) Observe(dst []stream.SessionObservation) []stream.SessionObservation {
	return append(dst, f.obs...)
}

func (f *fakeSessions) SetThinning(id string, t stream.Thinning) bool {
	f.thin[id] = t
	return true
}

func newTestAdapter(t *testing.T, enabled bool) (*Adapter, *fakeEncoder, *fakeSessions, *fakeClock, *strings.Builder) {
	clk := newFakeClock()
	enc := &fakeEncoder{}
	var logs strings.Builder
	a, err := NewAdapter(AdapterConfig{
		Controller: mjpegCfg,
		Levers:     Levers{Quality: enc, Framerate: enc},
		Enabled:    enabled,
		OnKeyframe: enc.ForceKeyframe,
		Logger:     newTextLogger(&logs),
		Now:        clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ss := &fakeSessions{thin: map[string]stream.Thinning{}}
	a.SetSessions(ss)
	return a, enc, ss, clk, &logs
}

func TestAdapterAppliesStepsAndThinning(t *testing.T) {
	a, enc, ss, clk, logs := newTestAdapter(t, true)
	ss.obs = []stream.SessionObservation{
		{ID: "good", Transport: "udp", Playing: true},
		{ID: "bad", Transport: "udp", Playing: true},
	}
	for range 5 {
		clk.Advance(5 * time.Second)
		a.ReceiverReport("good", report.ReceiverReport{FractionLost: 0})
		a.ReceiverReport("bad", report.ReceiverReport{FractionLost: 0.6, RTT: 30 * time.Millisecond})
		a.Step()
	}
	d := a.Last()
	if got := summary(d); got != "quality 50, 10 fps | bad 0.026 hopeless 1/8 | good 0.293" {
		t.Errorf("after five reports: %s", got)
	}
	if want := []int{60, 50, 50, 50, 50}; !equalInts(enc.quality, want) {
		t.Errorf("qualities set %v, want %v", enc.quality, want)
	}
	if want := []int{25, 13, 6, 8, 10}; !equalInts(enc.fps, want) {
		t.Errorf("frame rates set %v, want %v", enc.fps, want)
	}
	if ss.thin["bad"] != (stream.Thinning{KeepOneIn: 8}) || len(ss.thin) != 1 {
		t.Errorf("thinning %v", ss.thin)
	}
	if n := strings.Count(logs.String(), "adapt step"); n != 5 {
		t.Errorf("%d step log lines, want 5:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "reason=") {
		t.Errorf("no reason logged:\n%s", logs)
	}
}

func TestAdapterOffKeepsSettingsButForwardsKeyframes(t *testing.T) {
	a, enc, ss, clk, _ := newTestAdapter(t, false)
	ss.obs = []stream.SessionObservation{{ID: "a", Transport: "udp", Playing: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	for range 3 {
		clk.Advance(5 * time.Second)
		a.ReceiverReport("a", report.ReceiverReport{FractionLost: 0.5})
		a.KeyframeRequest("a", "pli")
		a.KeyframeRequest("a", "pli") // within 500 ms: not forwarded
	}
	cancel()
	<-done
	if len(enc.quality) != 0 || len(enc.fps) != 0 || len(ss.thin) != 0 {
		t.Errorf("adaptation off changed settings: q %v fps %v thin %v", enc.quality, enc.fps, ss.thin)
	}
	if enc.keyframes != 3 {
		t.Errorf("%d keyframes forced, want 3", enc.keyframes)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func newTextLogger(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: w}, nil))
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
