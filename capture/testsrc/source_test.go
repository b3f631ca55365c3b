package testsrc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
)

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"odd width", Config{Width: 161, Height: 120}, ErrSize},
		{"odd height", Config{Width: 160, Height: 121}, ErrSize},
		{"too narrow", Config{Width: 62, Height: 120}, ErrSize},
		{"too wide", Config{Width: 4098, Height: 120}, ErrSize},
		{"too short", Config{Width: 160, Height: 62}, ErrSize},
		{"too tall", Config{Width: 160, Height: 2162}, ErrSize},
		{"negative", Config{Width: -640, Height: 480}, ErrSize},
		{"fps high", Config{FPS: 121}, ErrFPS},
		{"fps negative", Config{FPS: -1}, ErrFPS},
		{"mjpeg", Config{Format: capture.MJPG}, ErrFormat},
		{"unknown format", Config{Format: capture.FourCC("RGB3")}, ErrFormat},
		{"one buffer", Config{Buffers: 1}, ErrBuffers},
		{"many buffers", Config{Buffers: 33}, ErrBuffers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := capture.Mode{Format: capture.YU12, Width: 640, Height: 480, FPS: 30}
	if m := s.Mode(); m != want {
		t.Fatalf("mode %v, want %v", m, want)
	}
}

func TestPacing(t *testing.T) {
	s, clk := newFake(t, Config{Width: 160, Height: 120, FPS: 30})
	start := clk.Now()
	ctx := context.Background()
	for n := range 100 {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		due := start + time.Duration(n)*time.Second/30
		if f.Sequence != uint32(n) || f.Timestamp != due {
			t.Fatalf("frame %d: seq %d ts %v, want ts %v", n, f.Sequence, f.Timestamp, due)
		}
		if clk.Now() != due {
			t.Fatalf("frame %d handed out at %v, due %v", n, clk.Now(), due)
		}
		if len(f.Data) != 160*120*3/2 || f.Width != 160 || f.Height != 120 || f.Format != capture.YU12 {
			t.Fatalf("frame %d: %d bytes %dx%d %v", n, len(f.Data), f.Width, f.Height, f.Format)
		}
		f.Release()
	}
	// One second of frames took exactly one second, with no drift.
	if got, want := s.due(30)-start, time.Second; got != want {
		t.Fatalf("30 frames span %v", got)
	}
	if sl := clk.takeSleeps(); len(sl) != 99 {
		t.Fatalf("%d sleeps", len(sl))
	}
	if s.Dropped() != 0 {
		t.Fatalf("dropped %d", s.Dropped())
	}
}

func TestLateConsumer(t *testing.T) {
	s, clk := newFake(t, Config{Width: 160, Height: 120, FPS: 25})
	start := clk.Now()
	ctx := context.Background()
	next := func() *capture.Frame {
		t.Helper()
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
		return f
	}
	next() // frame 0 at start

	// Late by less than a period: frame 1 comes at once, not skipped.
	clk.Advance(40*time.Millisecond + 30*time.Millisecond)
	if f := next(); f.Sequence != 1 || f.Timestamp != start+40*time.Millisecond {
		t.Fatalf("got seq %d ts %v", f.Sequence, f.Timestamp-start)
	}
	if sl := clk.takeSleeps(); len(sl) != 0 {
		t.Fatalf("slept %v while late", sl)
	}

	// Late by three periods (fewer than the 4 buffers): caught up in order.
	clk.Advance(120 * time.Millisecond) // now start+190ms: frame 2 was due at 80ms
	if f := next(); f.Sequence != 2 || f.Timestamp != start+80*time.Millisecond {
		t.Fatalf("got seq %d ts %v", f.Sequence, f.Timestamp-start)
	}
	if s.Dropped() != 0 {
		t.Fatalf("dropped %d while within the buffers' reach", s.Dropped())
	}
	// Late by more periods than there are buffers: skip to the latest due frame.
	clk.Advance(120 * time.Millisecond) // now start+310ms: frame 3 was due at 120ms, frame 7 at 280ms
	if f := next(); f.Sequence != 7 || f.Timestamp != start+280*time.Millisecond {
		t.Fatalf("got seq %d ts %v", f.Sequence, f.Timestamp-start)
	}
	if s.Dropped() != 4 {
		t.Fatalf("dropped %d, want 4", s.Dropped())
	}
	// And back on schedule.
	if f := next(); f.Sequence != 8 || clk.Now() != start+320*time.Millisecond {
		t.Fatalf("got seq %d at %v", f.Sequence, clk.Now()-start)
	}
}

func TestRing(t *testing.T) {
	s, clk := newFake(t, Config{Width: 160, Height: 120, FPS: 10, Buffers: 4})
	ctx := context.Background()
	var held []*capture.Frame
	seen := map[*byte]bool{}
	for range 4 {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[&f.Data[0]] = true
		held = append(held, f)
	}
	if len(seen) != 4 {
		t.Fatalf("%d distinct buffers for 4 held frames", len(seen))
	}

	// A second Release is harmless.
	first := &held[0].Data[0]
	held[0].Release()
	held[0].Release()
	if len(s.free) != 1 {
		t.Fatalf("%d free buffers after a double Release", len(s.free))
	}
	f0, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if &f0.Data[0] != first {
		t.Fatal("frame did not reuse the released buffer")
	}
	held[0] = f0

	// All held: Next waits for a buffer.
	got := make(chan *capture.Frame)
	go func() {
		f, err := s.Next(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- f
	}()
	clk.Advance(time.Second) // meanwhile 10 frames fall due
	second := &held[1].Data[0]
	held[1].Release()
	f := <-got
	if &f.Data[0] != second {
		t.Fatal("frame did not reuse the released buffer")
	}
	if f.Sequence <= 5 || s.Dropped() == 0 {
		t.Fatalf("seq %d dropped %d: frames due while blocked were not skipped", f.Sequence, s.Dropped())
	}
	y, stride := luma(f)
	if n, err := ReadFrameNumber(y, stride, 160, 120); err != nil || n != f.Sequence {
		t.Fatalf("read %d, %v; want %d", n, err, f.Sequence)
	}
	f.Release()
	for _, h := range []*capture.Frame{held[0], held[2], held[3]} {
		h.Release()
	}
	if len(s.free) != 4 {
		t.Fatalf("%d free buffers after releasing all", len(s.free))
	}
}

func TestCancelWaitingForBuffer(t *testing.T) {
	s, _ := newFake(t, Config{Width: 160, Height: 120, Buffers: 2})
	for range 2 {
		if _, err := s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := s.Next(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestCancelWaitingForFrame(t *testing.T) {
	s, err := New(Config{Width: 160, Height: 120, FPS: 1}) // real clock
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	// The timeout fires while Next waits for the frame due in a second.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if len(s.free) != 4 {
		t.Fatal("cancelled Next kept a buffer")
	}
}

func TestCloseUnblocks(t *testing.T) {
	s, err := New(Config{Width: 160, Height: 120, FPS: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { s.Close() })
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalDraw checks that frames drawn into recycled buffers, each
// redrawing only what changed since that buffer's last frame, equal frames
// drawn from scratch, in every format, including after skips.
func TestIncrementalDraw(t *testing.T) {
	for _, sz := range []size{{64, 64}, {160, 120}, {640, 480}} {
		for _, f := range formats {
			s, clk := newFake(t, Config{Width: sz.w, Height: sz.h, Format: f, FPS: 30, Buffers: 3})
			var held *capture.Frame
			for i := range 400 {
				if i%50 == 49 {
					clk.Advance(time.Second / 10) // skip a few frames
				}
				fr, err := s.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				want := render(t, f, sz.w, sz.h, fr.Sequence)
				if !bytes.Equal(fr.Data, want.Data) {
					t.Fatalf("%v %v frame %d differs from a fresh drawing", sz, f, fr.Sequence)
				}
				y, stride := luma(fr)
				if n, err := ReadFrameNumber(y, stride, sz.w, sz.h); err != nil || n != fr.Sequence {
					t.Fatalf("%v %v: read %d, %v; want %d", sz, f, n, err, fr.Sequence)
				}
				// Hold every other frame one step longer, so buffers
				// come back out of order.
				if held != nil {
					held.Release()
					held = nil
				}
				if i%2 == 0 {
					held = fr
				} else {
					fr.Release()
				}
			}
			s.Close()
		}
	}
}

func BenchmarkNext(b *testing.B) {
	for _, sz := range []size{{640, 480}, {1280, 720}, {1920, 1080}} {
		for _, f := range formats {
			b.Run(sz.String()+"/"+f.String(), func(b *testing.B) {
				s, clk := newFake(b, Config{Width: sz.w, Height: sz.h, Format: f, FPS: 30})
				clk.noRecord = true
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					fr, err := s.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					fr.Release()
				}
			})
		}
	}
}
