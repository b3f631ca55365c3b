package jpegsw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/testsrc"
)

type testCase struct {
	format        capture.PixelFormat
	width, height int
	quality       int
}

func (c testCase) String() string {
	return fmt.Sprintf("%dx%d/%s/q%d", c.width, c.height, c.format, c.quality)
}

// cases feeds the encode test and the fuzz seeds.
var cases = []testCase{
	{capture.YU12, 64, 64, 80},
	{capture.NV12, 64, 64, 10},
	{capture.YUYV, 64, 64, 100},
	{capture.YU12, 160, 120, 50},
	{capture.NV12, 160, 120, 50},
	{capture.YUYV, 160, 120, 50},
	{capture.YU12, 176, 144, 30},
	{capture.NV12, 320, 240, 80},
	{capture.YUYV, 320, 240, 30},
	{capture.YU12, 640, 480, 80},
	{capture.YUYV, 640, 480, 95},
	{capture.NV12, 1280, 720, 50},
	{capture.YU12, 1920, 1080, 30},
}

// frames returns a test pattern source paced by a clock that never waits.
func frames(t testing.TB, f capture.PixelFormat, w, h int) *testsrc.Source {
	t.Helper()
	src, err := testsrc.New(testsrc.Config{
		Width: w, Height: h, Format: f,
		Now:   func() time.Duration { return 0 },
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func next(t testing.TB, src *testsrc.Source) *capture.Frame {
	t.Helper()
	f, err := src.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func decode(t testing.TB, b []byte) *image.YCbCr {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	y, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("decoded a %T", img)
	}
	return y
}

func TestEncode(t *testing.T) {
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			src := frames(t, c.format, c.width, c.height)
			enc, err := New(Config{Width: c.width, Height: c.height, Quality: c.quality})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			for range 5 {
				f := next(t, src)
				au, err := enc.Encode(f)
				if err != nil {
					t.Fatal(err)
				}
				f.Release()
				if !au.Keyframe || au.Codec.String() != "mjpeg" || au.Sequence != f.Sequence || au.Timestamp != f.Timestamp {
					t.Fatalf("access unit %+v for frame %d at %v", au, f.Sequence, f.Timestamp)
				}
				img := decode(t, au.JPEG)
				if img.Rect.Dx() != c.width || img.Rect.Dy() != c.height {
					t.Fatalf("decoded %v", img.Rect)
				}
				n, err := testsrc.ReadFrameNumber(img.Y, img.YStride, c.width, c.height)
				if err != nil || n != au.Sequence {
					t.Fatalf("read frame %d, %v; want %d", n, err, au.Sequence)
				}
			}
		})
	}
}

// TestChroma checks that colours survive each input format's conversion:
// the box and bars of the pattern decode to about the same Cb and Cr.
func TestChroma(t *testing.T) {
	const w, h = 320, 240
	var ref *image.YCbCr
	for _, f := range []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV} {
		enc, err := New(Config{Width: w, Height: h, Quality: 90})
		if err != nil {
			t.Fatal(err)
		}
		au, err := enc.Encode(next(t, frames(t, f, w, h)))
		if err != nil {
			t.Fatal(err)
		}
		img := decode(t, au.JPEG)
		if ref == nil {
			ref = img
			continue
		}
		for y := 0; y < h; y += 7 {
			for x := 0; x < w; x += 5 {
				a, b := ref.YCbCrAt(x, y), img.YCbCrAt(x, y)
				if d := int(a.Cb) - int(b.Cb) + int(a.Cr) - int(b.Cr); d > 24 || d < -24 {
					t.Fatalf("%s at (%d,%d): %v, YU12 gave %v", f, x, y, b, a)
				}
			}
		}
	}
}

func TestQuality(t *testing.T) {
	src := frames(t, capture.YU12, 640, 480)
	f := next(t, src)
	enc, err := New(Config{Width: 640, Height: 480})
	if err != nil {
		t.Fatal(err)
	}
	if q := enc.Quality(); q != DefaultQuality {
		t.Fatalf("default quality %d", q)
	}
	size := func(q int) int {
		if err := enc.SetQuality(q); err != nil {
			t.Fatal(err)
		}
		au, err := enc.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return len(au.JPEG)
	}
	low, high := size(20), size(95)
	if high <= low {
		t.Fatalf("quality 95 gave %d bytes, quality 20 %d", high, low)
	}
	for _, q := range []int{0, -1, 101} {
		if err := enc.SetQuality(q); !errors.Is(err, ErrQuality) {
			t.Fatalf("SetQuality(%d): %v", q, err)
		}
	}
	if q := enc.Quality(); q != 95 {
		t.Fatalf("quality %d after rejected changes", q)
	}
}

// TestSetQualityConcurrent changes the quality while frames are encoded
// (run with -race).
func TestSetQualityConcurrent(t *testing.T) {
	src := frames(t, capture.NV12, 160, 120)
	enc, err := New(Config{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for q := 1; q <= 100; q++ {
			if err := enc.SetQuality(q); err != nil {
				t.Error(err)
			}
			_ = enc.Quality()
		}
	})
	for range 20 {
		f := next(t, src)
		if _, err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	wg.Wait()
}

func TestReuse(t *testing.T) {
	src := frames(t, capture.YU12, 160, 120)
	enc, err := New(Config{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	f := next(t, src)
	if err := enc.wrap(f); err != nil {
		t.Fatal(err)
	}
	if &enc.img.Y[0] != &f.Data[0] || &enc.img.Cb[0] != &f.Data[160*120] || &enc.img.Cr[0] != &f.Data[160*120*5/4] {
		t.Fatal("YU12 frame was copied")
	}
	yuyv := frames(t, capture.YUYV, 160, 120)
	var planes *byte
	for range 3 {
		au, err := enc.Encode(next(t, yuyv))
		if err != nil {
			t.Fatal(err)
		}
		if planes != nil && &enc.planes[0] != planes {
			t.Fatal("planes were reallocated")
		}
		planes = &enc.planes[0]
		if &au.JPEG[0] != &enc.out.Bytes()[0] {
			t.Fatal("JPEG is not in the encoder's buffer")
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	enc, err := New(Config{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	yu12 := capture.Mode{Format: capture.YU12, Width: 160, Height: 120}
	frame := func(n int, m capture.Mode) *capture.Frame {
		return capture.NewFrame(make([]byte, n), 0, 0, m, nil)
	}
	with := func(f capture.PixelFormat, w, h int) capture.Mode {
		return capture.Mode{Format: f, Width: w, Height: h}
	}
	bad := []struct {
		name string
		f    *capture.Frame
		want error
	}{
		{"nil", nil, ErrFrame},
		{"mjpeg", frame(1000, with(capture.MJPG, 160, 120)), ErrFormat},
		{"h264", frame(160*120*2, with(capture.H264, 160, 120)), ErrFormat},
		{"wider", frame(162*120*3/2, with(capture.YU12, 162, 120)), ErrSize},
		{"shorter", frame(160*118*3/2, with(capture.YU12, 160, 118)), ErrSize},
		{"short YU12", frame(160*120*3/2-1, yu12), ErrFrame},
		{"short NV12", frame(160*120*3/2-1, with(capture.NV12, 160, 120)), ErrFrame},
		{"short YUYV", frame(160*120*2-1, with(capture.YUYV, 160, 120)), ErrFrame},
		{"empty", frame(0, yu12), ErrFrame},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if au, err := enc.Encode(c.f); !errors.Is(err, c.want) || au != nil {
				t.Fatalf("got %v, %v; want %v", au, err, c.want)
			}
		})
	}
	// Longer buffers (padding after the image) are fine.
	if _, err := enc.Encode(frame(160*120*2, yu12)); err != nil {
		t.Fatal(err)
	}
	enc.Close()
	if _, err := enc.Encode(frame(160*120*3/2, yu12)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want error
	}{
		{Config{}, ErrSize},
		{Config{Width: 161, Height: 120}, ErrSize},
		{Config{Width: 160, Height: 121}, ErrSize},
		{Config{Width: -160, Height: 120}, ErrSize},
		{Config{Width: 1 << 16, Height: 120}, ErrSize},
		{Config{Width: 160, Height: 120, Quality: 101}, ErrQuality},
		{Config{Width: 160, Height: 120, Quality: -5}, ErrQuality},
	} {
		if _, err := New(c.cfg); !errors.Is(err, c.want) {
			t.Fatalf("New(%+v): %v, want %v", c.cfg, err, c.want)
		}
	}
	// Sizes RFC 2435 cannot carry are still encoded.
	if _, err := New(Config{Width: 2050, Height: 1082}); err != nil {
		t.Fatal(err)
	}
}

// FuzzEncode feeds frames of any length, format and size: Encode must
// return an error or a decodable JPEG, never panic.
func FuzzEncode(f *testing.F) {
	for _, c := range cases {
		if c.width*c.height > 64*64 {
			continue // big seeds slow the fuzzer; the paths are the same
		}
		src := frames(f, c.format, c.width, c.height)
		fr := next(f, src)
		f.Add(fr.Data, uint32(c.format), c.width, c.height, c.quality)
	}
	f.Add([]byte{1, 2, 3}, uint32(capture.YU12), 2, 2, 1)
	f.Fuzz(func(t *testing.T, data []byte, format uint32, w, h, q int) {
		if w > 128 || h > 128 {
			return // keep the fuzzer fast; large sizes take the same paths
		}
		enc, err := New(Config{Width: w, Height: h, Quality: q})
		if err != nil {
			return
		}
		fr := capture.NewFrame(data, 0, 0, capture.Mode{Format: capture.PixelFormat(format), Width: w, Height: h}, nil)
		au, err := enc.Encode(fr)
		if err != nil {
			return
		}
		img, err := jpeg.Decode(bytes.NewReader(au.JPEG))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Fatalf("decoded %v, want %dx%d", img.Bounds(), w, h)
		}
	})
}
