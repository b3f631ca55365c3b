package filesrc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
)

// fakeClock is a monotonic clock that only moves when Sleep is called or
// the test advances it.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(int64(1000 * time.Second))
	return c
}

func (c *fakeClock) Now() time.Duration      { return time.Duration(c.t.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

func openFake(t *testing.T, path string, fps int) (*Source, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	s, err := Open(Config{Path: path, FPS: fps, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func hasNAL(au []byte, typ byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 && au[i+3]&0x1f == typ {
			return true
		}
	}
	return false
}

func TestOpenH264(t *testing.T) {
	s, _ := openFake(t, clip(t, "x.264"), 25)
	want := capture.Mode{Format: capture.H264, Width: 320, Height: 240, FPS: 25}
	if s.Mode() != want {
		t.Fatalf("mode %v, want %v", s.Mode(), want)
	}
	if s.Frames() != 50 {
		t.Fatalf("%d frames, want 50", s.Frames())
	}
	idr := 0
	for i, fr := range s.frames {
		if hasNAL(fr, nalIDR) {
			idr++
			if !hasNAL(fr, nalSPS) || !hasNAL(fr, nalPPS) {
				t.Errorf("frame %d: IDR without SPS/PPS", i)
			}
		} else if !hasNAL(fr, nalNonIDR) {
			t.Errorf("frame %d has no slice", i)
		}
	}
	if !hasNAL(s.frames[0], nalIDR) || idr != 2 {
		t.Errorf("first frame IDR %v, %d IDR frames; want true, 2 (GOP 25)", hasNAL(s.frames[0], nalIDR), idr)
	}
}

func TestOpenH264Variants(t *testing.T) {
	for _, c := range []struct {
		name   string
		slices int // slices per picture
	}{{"slices.264", 4}, {"bframes.264", 1}} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openFake(t, clip(t, c.name), 25)
			if s.Frames() != 50 || s.Mode().Width != 320 || s.Mode().Height != 240 {
				t.Fatalf("%d frames %v, want 50 320x240", s.Frames(), s.Mode())
			}
			for i, fr := range s.frames {
				n := bytes.Count(fr, []byte{0, 0, 1, 0x65}) + bytes.Count(fr, []byte{0, 0, 1, 0x41}) +
					bytes.Count(fr, []byte{0, 0, 1, 0x01}) + bytes.Count(fr, []byte{0, 0, 1, 0x21})
				if n != c.slices {
					t.Fatalf("frame %d has %d slices, want %d", i, n, c.slices)
				}
			}
		})
	}
}

func TestOpenMJPEG(t *testing.T) {
	s, _ := openFake(t, clip(t, "x.mjpeg"), 25)
	want := capture.Mode{Format: capture.MJPG, Width: 320, Height: 240, FPS: 25}
	if s.Mode() != want {
		t.Fatalf("mode %v, want %v", s.Mode(), want)
	}
	if s.Frames() != 50 {
		t.Fatalf("%d frames, want 50", s.Frames())
	}
}

// TestLoop reads two and a half passes over each clip: timestamps rise by
// exactly one period, sequence by one, and the file repeats.
func TestLoop(t *testing.T) {
	for _, name := range []string{"x.264", "x.mjpeg"} {
		t.Run(name, func(t *testing.T) {
			s, clk := openFake(t, clip(t, name), 25)
			ctx := context.Background()
			start := clk.Now()
			var first [][]byte
			for i := 0; i < 125; i++ {
				f, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantTS := start + time.Duration(i)*40*time.Millisecond
				if f.Timestamp != wantTS || f.Sequence != uint32(i) {
					t.Fatalf("frame %d: ts %v seq %d, want %v %d", i, f.Timestamp, f.Sequence, wantTS, i)
				}
				if f.Format != s.Mode().Format || f.Width != 320 || f.Height != 240 {
					t.Fatalf("frame %d: %v %dx%d", i, f.Format, f.Width, f.Height)
				}
				if i < 50 {
					first = append(first, f.Data)
				} else if !bytes.Equal(f.Data, first[i%50]) {
					t.Fatalf("frame %d differs from frame %d of the first pass", i, i%50)
				}
				f.Release()
			}
			if s.Dropped() != 0 {
				t.Errorf("dropped %d", s.Dropped())
			}
		})
	}
}

// TestLateConsumerSkips checks that a consumer late by several periods gets
// the latest due slot (a sequence gap) and the next frame of the file.
func TestLateConsumerSkips(t *testing.T) {
	s, clk := openFake(t, clip(t, "x.264"), 25)
	ctx := context.Background()
	f0, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := f0.Timestamp
	f0.Release()
	clk.Advance(130 * time.Millisecond) // slot 3 is due at 120 ms
	f, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Sequence != 3 || f.Timestamp != start+120*time.Millisecond {
		t.Errorf("late frame seq %d ts %v, want 3 %v", f.Sequence, f.Timestamp-start, 120*time.Millisecond)
	}
	if !bytes.Equal(f.Data, s.frames[1]) {
		t.Errorf("late frame is not the next frame of the file")
	}
	if s.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", s.Dropped())
	}
	// Late by less than a period: no skip.
	clk.Advance(50 * time.Millisecond)
	f, err = s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Sequence != 4 {
		t.Errorf("seq %d, want 4", f.Sequence)
	}
}

func TestFrameRecycling(t *testing.T) {
	s, _ := openFake(t, clip(t, "x.mjpeg"), 30)
	ctx := context.Background()
	var held []*capture.Frame
	for i := 0; i < frameSlots+2; i++ {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	for i, f := range held {
		if f.Sequence != uint32(i) {
			t.Fatalf("held frame %d has seq %d: a frame was reused while held", i, f.Sequence)
		}
	}
	for _, f := range held {
		f.Release()
	}
	allocs := testing.AllocsPerRun(100, func() {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	})
	if allocs != 0 {
		t.Errorf("Next allocates %v times per frame", allocs)
	}
}

func TestCloseAndCancel(t *testing.T) {
	s, err := Open(Config{Path: clip(t, "x.mjpeg"), FPS: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := s.Next(ctx) // first frame is due at once
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Next(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with canceled ctx: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx) // waits up to 1 s on the real clock
		done <- err
	}()
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Next across Close: %v, want ErrClosed", err)
	}
	if _, err := s.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
}

func BenchmarkNext(b *testing.B) {
	var now time.Duration
	s, err := Open(Config{Path: clip(b, "x.264"), FPS: 25,
		Now:   func() time.Duration { return now },
		Sleep: func(_ context.Context, d time.Duration) error { now += d; return nil }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f, err := s.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		path string
		fps  int
		want error
		text string
	}{
		{"missing", filepath.Join(dir, "nope.264"), 25, os.ErrNotExist, "nope.264"},
		{"empty", write("empty.264", nil), 25, ErrFormat, "empty.264"},
		{"text", write("notes.txt", []byte("hello")), 25, ErrFormat, "notes.txt: neither H.264 nor MJPEG: starts with 68 65 6c 6c, want an H.264 Annex-B start code"},
		{"no sps", write("nosps.264", cat(nal(5, true), nal(1, true))), 25, ErrStream, "nosps.264: H.264: no SPS"},
		{"no picture", write("nopic.264", cat(nal(7, false))), 25, ErrStream, "no coded picture"},
		{"bad jpeg", write("bad.mjpeg", []byte{0xff, 0xd8, 0xff, 0xd9}), 25, ErrStream, "bad.mjpeg: MJPEG"},
		{"fps", write("fps.mjpeg", jpeg(8, 8, nil, nil)), 1000, ErrFPS, "1000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(Config{Path: c.path, FPS: c.fps})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.264")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: no disk space used.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(Config{Path: p}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big.264") {
		t.Errorf("err = %v, want ErrTooLarge naming the file", err)
	}
}
