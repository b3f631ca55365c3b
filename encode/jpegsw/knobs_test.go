package jpegsw

import (
	"errors"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// textured returns a YUYV frame of gradients and noise, like a camera's
// picture (the test pattern is flat and compresses to little at any quality).
func textured(w, h, i int) *capture.Frame {
	b := make([]byte, 2*w*h)
	x := 2463534242 + uint32(i)
	for k := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[k] = byte((k/2)%w/4 + (k/(2*w))/4 + int(x%24))
	}
	m := capture.Mode{Format: capture.YUYV, Width: w, Height: h}
	return capture.NewFrame(b, time.Duration(i)*time.Second/25, uint32(i), m, nil)
}

// A quality change mid-stream shows in the frame sizes from the very next
// frame, and every frame still decodes.
func TestQualityMidStream(t *testing.T) {
	const w, h = 640, 480
	enc, err := New(Config{Width: w, Height: h, Quality: 90})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for i := range 20 {
		if i == 10 {
			if err := enc.SetQuality(20); err != nil {
				t.Fatal(err)
			}
		}
		au, err := enc.Encode(textured(w, h, i))
		if err != nil {
			t.Fatal(err)
		}
		decode(t, au.JPEG)
		sizes = append(sizes, len(au.JPEG))
	}
	hi, lo := minMax(sizes[:10]), minMax(sizes[10:])
	t.Logf("q90: %d..%d bytes, q20: %d..%d bytes", hi[0], hi[1], lo[0], lo[1])
	// The largest frame at quality 20 is well below the smallest at 90.
	if 2*lo[1] > hi[0] {
		t.Fatalf("quality 90 -> 20 frame sizes %v -> %v: not halved", sizes[:10], sizes[10:])
	}
}

func minMax(s []int) [2]int {
	r := [2]int{s[0], s[0]}
	for _, v := range s {
		r[0], r[1] = min(r[0], v), max(r[1], v)
	}
	return r
}

// SetFramerate drops frames by their timestamps: the test pattern runs at
// 30 fps, so 10 fps keeps one frame in three.
func TestFramerateKnob(t *testing.T) {
	src := frames(t, capture.YU12, 160, 120)
	enc, err := New(Config{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	if k := enc.Knobs(); k != encode.KnobQuality|encode.KnobFramerate {
		t.Fatalf("knobs %v", k)
	}
	if err := enc.SetFramerate(10); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for range 90 {
		f := next(t, src)
		au, err := enc.Encode(f)
		f.Release()
		if err != nil {
			t.Fatal(err)
		}
		if au != nil {
			kept++
			decode(t, au.JPEG)
		}
	}
	if kept < 29 || kept > 31 {
		t.Fatalf("kept %d of 90 frames at 10 of 30 fps", kept)
	}
}

func TestNoBitrateKnob(t *testing.T) {
	enc, err := New(Config{Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(1e6); !errors.Is(err, encode.ErrNoKnob) {
		t.Fatalf("SetBitrate = %v, want ErrNoKnob", err)
	}
	if err := enc.SetFramerate(0); !errors.Is(err, encode.ErrFramerate) {
		t.Fatalf("SetFramerate(0) = %v, want ErrFramerate", err)
	}
	enc.ForceKeyframe()
}
