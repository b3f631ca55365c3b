package testsrc

import (
	"context"
	"fmt"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
)

// fakeClock is a monotonic clock that only moves when told to or when
// slept on, so pacing tests never sleep for real.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Duration
	sleeps []time.Duration
	// noRecord keeps Sleep from recording, for benchmarks.
	noRecord bool
}

func newFakeClock() *fakeClock { return &fakeClock{t: 1000 * time.Second} }

func (c *fakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t += d
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t += d
	if !c.noRecord {
		c.sleeps = append(c.sleeps, d)
	}
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) takeSleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

func newFake(t testing.TB, cfg Config) (*Source, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	cfg.Now, cfg.Sleep = clk.Now, clk.Sleep
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

var formats = []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV}

type size struct{ w, h int }

func (s size) String() string { return fmt.Sprintf("%dx%d", s.w, s.h) }

// sizes covers the smallest picture, the 16-pixel-cell threshold, sizes not
// a multiple of 16 high, and the largest.
var sizes = []size{
	{64, 64}, {96, 64}, {130, 98}, {160, 120}, {176, 144}, {320, 240},
	{640, 480}, {1280, 720}, {1920, 1080}, {4096, 2160},
}

// luma returns the luma plane of a frame and its stride, copying it out of
// a packed YUYV frame.
func luma(f *capture.Frame) ([]byte, int) {
	n := f.Width * f.Height
	if f.Format != capture.YUYV {
		return f.Data[:n], f.Width
	}
	y := make([]byte, n)
	for i := range y {
		y[i] = f.Data[2*i]
	}
	return y, f.Width
}

// ycbcr converts a frame to an image for image/jpeg, averaging YUYV
// chroma rows and deinterleaving NV12.
func ycbcr(f *capture.Frame) *image.YCbCr {
	w, h := f.Width, f.Height
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	y, _ := luma(f)
	copy(img.Y, y)
	switch f.Format {
	case capture.YU12:
		copy(img.Cb, f.Data[w*h:w*h+w*h/4])
		copy(img.Cr, f.Data[w*h+w*h/4:])
	case capture.NV12:
		for i := range img.Cb {
			img.Cb[i] = f.Data[w*h+2*i]
			img.Cr[i] = f.Data[w*h+2*i+1]
		}
	case capture.YUYV:
		for cy := 0; cy < h/2; cy++ {
			for cx := 0; cx < w/2; cx++ {
				a := f.Data[(2*cy)*2*w+4*cx:]
				b := f.Data[(2*cy+1)*2*w+4*cx:]
				img.Cb[cy*img.CStride+cx] = uint8((int(a[1]) + int(b[1]) + 1) / 2)
				img.Cr[cy*img.CStride+cx] = uint8((int(a[3]) + int(b[3]) + 1) / 2)
			}
		}
	}
	return img
}
