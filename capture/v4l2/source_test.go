package v4l2

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

func rates(fps ...int) []FrameInterval {
	out := make([]FrameInterval, len(fps))
	for i, f := range fps {
		out[i] = FrameInterval{Min: Fract{1, uint32(f)}, Max: Fract{1, uint32(f)}}
	}
	return out
}

func size(w, h int, fps ...int) SizeModes {
	return SizeModes{FrameSize: FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}, Intervals: rates(fps...)}
}

func format(f capture.PixelFormat, sizes ...SizeModes) FormatModes {
	return FormatModes{FormatDesc: FormatDesc{Format: f, Description: f.String()}, Sizes: sizes}
}

// webcamCatalog is a UVC webcam: MJPG up to 1280x720, YUYV only small.
func webcamCatalog() Catalog {
	return Catalog{
		format(capture.MJPG, size(1280, 720, 30, 15), size(640, 480, 30, 15)),
		format(capture.YUYV, size(640, 480, 30), size(320, 240, 30)),
	}
}

// vividCatalog is like vivid: raw formats only.
func vividCatalog() Catalog {
	return Catalog{
		format(capture.YUYV, size(640, 480, 30, 25, 15, 5), size(1280, 720, 25, 5)),
		format(capture.NV12, size(640, 480, 30, 25, 15, 5), size(1280, 720, 25, 5)),
		format(capture.YU12, size(640, 480, 30, 25, 15, 5)),
		format(capture.FourCC("RGB3"), size(640, 480, 30)),
	}
}

func testControls() []ControlInfo {
	return []ControlInfo{
		{ID: 0x00980900, Name: "Brightness", Type: ctrlTypeInteger, Min: 0, Max: 255, Step: 1, Default: 128},
		{ID: 0x00980901, Name: "Contrast", Type: ctrlTypeInteger, Min: 0, Max: 255, Step: 1, Default: 128},
		{ID: 0x009a0901, Name: "Auto Exposure", Type: ctrlTypeMenu, Min: 0, Max: 3, Step: 1, Default: 3},
		{ID: 0x0098090c, Name: "White Balance, Automatic", Type: ctrlTypeBoolean, Min: 0, Max: 1, Step: 1, Default: 1},
		{ID: 0x00980920, Name: "Hue", Type: ctrlTypeInteger, Min: -128, Max: 127, Flags: ctrlFlagReadOnly},
	}
}

// rig is a Source on fake devices, with a fake clock and a log.
type rig struct {
	t      testing.TB
	mu     sync.Mutex
	now    time.Duration
	sleeps []time.Duration
	devs   []*FakeDevice
	// absent makes Open fail with this error (the node is gone).
	absent error
	opens  int
	newDev func() *FakeDevice
	logs   strings.Builder
}

func newRig(t testing.TB, cat Catalog) *rig {
	r := &rig{t: t}
	r.newDev = func() *FakeDevice {
		return &FakeDevice{Catalog: cat, ControlList: testControls(), AutoCapture: true}
	}
	return r
}

func (r *rig) config(w, h, fps int) Config {
	return Config{
		Device: "/dev/video9", Width: w, Height: h, FPS: fps,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{b: &r.logs, mu: &r.mu}, nil)),
		Open: func(path string) (Device, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.opens++
			if r.absent != nil {
				return nil, r.absent
			}
			d := r.newDev()
			r.devs = append(r.devs, d)
			return d, nil
		},
		Now: func() time.Duration {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.now
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			r.mu.Lock()
			r.sleeps = append(r.sleeps, d)
			r.now += d
			r.mu.Unlock()
			return ctx.Err()
		},
	}
}

func (r *rig) dev(i int) *FakeDevice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.devs[i]
}

func (r *rig) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

type syncWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func next(t *testing.T, s *Source) *capture.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStreamCarriesDriverTimestampsAndSequence(t *testing.T) {
	r := newRig(t, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m := s.Mode(); m != (capture.Mode{Format: capture.YUYV, Width: 640, Height: 480, FPS: 25}) {
		t.Fatalf("mode %v", m)
	}
	for i := range 10 {
		f := next(t, s)
		if f.Sequence != uint32(i) || f.Timestamp != time.Duration(i+1)*40*time.Millisecond {
			t.Fatalf("frame %d: seq %d ts %v", i, f.Sequence, f.Timestamp)
		}
		if len(f.Data) != 640*480*2 || f.Format != capture.YUYV || f.Width != 640 || f.Restart {
			t.Fatalf("frame %d: %d bytes %s %dx%d restart %v", i, len(f.Data), f.Format, f.Width, f.Height, f.Restart)
		}
		f.Release()
		f.Release() // twice is harmless
	}
	if st := s.Stats(); st != (Stats{Frames: 10}) {
		t.Fatalf("stats %+v", st)
	}
	if strings.Contains(r.log(), "CLOCK_MONOTONIC") {
		t.Fatal("warned about the clock of a monotonic driver")
	}
}

func TestNoMonotonicTimestampUsesDequeueTimeAndWarnsOnce(t *testing.T) {
	r := newRig(t, vividCatalog())
	inner := r.newDev
	r.newDev = func() *FakeDevice { d := inner(); d.NoMonotonic = true; return d }
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		r.mu.Lock()
		r.now = time.Duration(i) * time.Hour
		r.mu.Unlock()
		f := next(t, s)
		if f.Timestamp != time.Duration(i)*time.Hour {
			t.Fatalf("frame %d stamped %v, want the dequeue time", i, f.Timestamp)
		}
		f.Release()
	}
	if n := strings.Count(r.log(), "CLOCK_MONOTONIC"); n != 1 {
		t.Fatalf("%d clock warnings, want 1:\n%s", n, r.log())
	}
}

// A slow consumer gets the newest ready frame; the older ones go straight
// back to the driver and are counted.
func TestSlowConsumerGetsNewestFrame(t *testing.T) {
	r := newRig(t, vividCatalog())
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog()} }
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := r.dev(0)
	d.Capture(3)
	f := next(t, s)
	if f.Sequence != 2 {
		t.Fatalf("got frame %d, want the newest (2)", f.Sequence)
	}
	if q := d.Queued(); q != 3 {
		t.Fatalf("driver holds %d buffers, want 3 (all but the one handed out)", q)
	}
	f.Release()
	// 6 frames fall due while the consumer is away: 4 fill the buffers, 2
	// are lost for want of one.
	d.Capture(6)
	f = next(t, s)
	if f.Sequence != 6 {
		t.Fatalf("got frame %d, want 6", f.Sequence)
	}
	f.Release()
	// The lost frames show as a gap at the next one.
	d.Capture(1)
	if f = next(t, s); f.Sequence != 9 {
		t.Fatalf("got frame %d, want 9", f.Sequence)
	}
	f.Release()
	if st := s.Stats(); st.Skipped != 2+3 || st.DriverDrops != 2 || s.Dropped() != 7 {
		t.Fatalf("stats %+v", st)
	}
}

// A consumer holding all buffers but one never starves the driver: frames
// are dequeued and requeued (skipped) until it releases one.
func TestHoldingConsumerNeverStarvesDriver(t *testing.T) {
	r := newRig(t, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var held []*capture.Frame
	for range 3 {
		held = append(held, next(t, s))
	}
	d := r.dev(0)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan *capture.Frame)
	go func() {
		f, _ := s.Next(ctx)
		got <- f
	}()
	// Next keeps the driver going while waiting for a release.
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Skipped < 5 {
		if time.Now().After(deadline) {
			t.Fatal("Next did not keep requeueing")
		}
		if d.Queued() == 0 && s.Stats().Skipped == 0 {
			t.Fatal("driver starved")
		}
		time.Sleep(time.Millisecond)
	}
	held[0].Release()
	f := <-got
	cancel()
	if f == nil {
		t.Fatal("no frame after a release")
	}
	if st := s.Stats(); st.DriverDrops != 0 {
		t.Fatalf("the driver dropped frames: %+v", st)
	}
}

// H.264 from the camera is handed out in order, frame by frame.
func TestH264KeepsEveryFrame(t *testing.T) {
	cat := Catalog{format(capture.H264, size(1280, 720, 30)), format(capture.YUYV, size(1280, 720, 30))}
	r := newRig(t, cat)
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: cat} }
	cfg := r.config(1280, 720, 30)
	cfg.Prefer = Preference("h264")
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode().Format != capture.H264 {
		t.Fatalf("chose %s", s.Mode().Format)
	}
	r.dev(0).Capture(3)
	for i := range 3 {
		f := next(t, s)
		if f.Sequence != uint32(i) {
			t.Fatalf("got frame %d, want %d", f.Sequence, i)
		}
		f.Release()
	}
}

func TestNextHonoursContextAndClose(t *testing.T) {
	r := newRig(t, vividCatalog())
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog()} } // no frames ever
	cfg := r.config(640, 480, 25)
	cfg.Poll = time.Millisecond
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := s.Next(ctx); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
	go func() { _, err := s.Next(context.Background()); errc <- err }()
	s.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if !r.dev(0).Closed() {
		t.Fatal("device left open")
	}
}

// The device is closed only once the consumer released its frames.
func TestCloseWaitsForHeldFrames(t *testing.T) {
	r := newRig(t, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	f := next(t, s)
	s.Close()
	if r.dev(0).Closed() {
		t.Fatal("device closed (buffers unmapped) under a held frame")
	}
	f.Release()
	if !r.dev(0).Closed() {
		t.Fatal("device not closed after the last release")
	}
}

// Unplug: Next keeps blocking while the device is gone, reopens it with
// capped exponential backoff, and marks the first frame after it Restart.
// The log says so twice: once lost, once back.
func TestUnplugAndReappearance(t *testing.T) {
	r := newRig(t, vividCatalog())
	cfg := r.config(640, 480, 25)
	cfg.Controls = []ControlSetting{{Name: "brightness", Value: 99}}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		next(t, s).Release()
	}
	r.mu.Lock()
	r.absent = unix.ENOENT // the node disappears…
	r.mu.Unlock()
	r.dev(0).Fail(unix.ENODEV)
	// …and comes back after 9 attempts.
	attempts := 0
	cfg2 := s.cfg.Open
	s.cfg.Open = func(path string) (Device, error) {
		attempts++
		if attempts == 10 {
			r.mu.Lock()
			r.absent = nil
			r.mu.Unlock()
		}
		return cfg2(path)
	}
	f := next(t, s)
	if !f.Restart || f.Sequence != 0 {
		t.Fatalf("first frame after reopening: restart %v seq %d", f.Restart, f.Sequence)
	}
	f.Release()
	f = next(t, s)
	if f.Restart {
		t.Fatal("second frame marked Restart")
	}
	f.Release()
	if !r.dev(0).Closed() {
		t.Fatal("lost device not closed")
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000}
	r.mu.Lock()
	sleeps := append([]time.Duration(nil), r.sleeps...)
	r.mu.Unlock()
	if len(sleeps) != len(want) {
		t.Fatalf("slept %v, want %v ms", sleeps, want)
	}
	for i := range want {
		if sleeps[i] != want[i]*time.Millisecond {
			t.Fatalf("slept %v, want %v ms", sleeps, want)
		}
	}
	if st := s.Stats(); st.Reopens != 1 || st.DriverDrops != 0 {
		t.Fatalf("stats %+v", st)
	}
	log := r.log()
	if strings.Count(log, "camera lost") != 1 || strings.Count(log, "camera is back") != 1 || !strings.Contains(log, "gone=26.3s") {
		t.Fatalf("log:\n%s", log)
	}
	if set := r.dev(1).SetControls(); len(set) != 1 || set[0].Value != 99 {
		t.Fatalf("controls not set again after reopening: %v", set)
	}
}

// A camera that comes back unable to give the mode is retried, and said once.
func TestReappearsWithOtherModeIsRetried(t *testing.T) {
	r := newRig(t, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next(t, s).Release()
	r.mu.Lock()
	r.newDev = func() *FakeDevice {
		return &FakeDevice{Catalog: Catalog{format(capture.YUYV, size(320, 240, 30))}, AutoCapture: true}
	}
	r.mu.Unlock()
	r.dev(0).Fail(unix.EIO)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := s.Next(ctx); errc <- err }()
	for {
		r.mu.Lock()
		n := r.opens
		r.mu.Unlock()
		if n > 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v", err)
	}
	if n := strings.Count(r.log(), "unusable"); n != 1 {
		t.Fatalf("%d 'unusable' lines, want 1:\n%s", n, r.log())
	}
}

// A camera that stops giving frames without an error is reopened.
func TestStalledCameraIsReopened(t *testing.T) {
	r := newRig(t, vividCatalog())
	first := true
	r.newDev = func() *FakeDevice {
		d := &FakeDevice{Catalog: vividCatalog(), AutoCapture: !first} // the first one never captures
		first = false
		return d
	}
	cfg := r.config(640, 480, 25)
	now := cfg.Now
	cfg.Now = func() time.Duration { // each look at the clock is 1 s later
		r.mu.Lock()
		r.now += time.Second
		r.mu.Unlock()
		return now()
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := next(t, s)
	if !f.Restart {
		t.Fatal("first frame after the stall not marked Restart")
	}
	f.Release()
	if !r.dev(0).Closed() || s.Stats().Reopens != 1 || !strings.Contains(r.log(), "camera stalled: no frame for 6s") {
		t.Fatalf("stats %+v, log:\n%s", s.Stats(), r.log())
	}
}

// A camera that is back but busy is said once; an absent one not at all.
func TestReopenLogsOnlyNews(t *testing.T) {
	r := newRig(t, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next(t, s).Release()
	attempts := 0
	open := s.cfg.Open
	s.cfg.Open = func(path string) (Device, error) {
		attempts++
		switch {
		case attempts <= 5:
			return nil, unix.ENOENT
		case attempts <= 10:
			return nil, unix.EBUSY
		}
		return open(path)
	}
	r.dev(0).Fail(unix.ENODEV)
	next(t, s).Release()
	log := r.log()
	if strings.Count(log, "unusable") != 1 || !strings.Contains(log, "device or resource busy") || strings.Contains(log, "no such file") {
		t.Fatalf("log:\n%s", log)
	}
}
