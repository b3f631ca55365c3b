package h264sw

import (
	"time"

	"github.com/camagent/camagent/capture"
)

// testImage draws frame i of a synthetic moving I420 image: colour bars
// whose edges are not macroblock aligned, horizontal stripes, a static
// gradient, a noise patch that changes every 10 frames, a block of zero
// samples (clamped to 1 by the encoder), a grid of 8x8 cells changing each
// frame, and a square moving 3 px a frame.
func testImage(w, h, i int) []byte {
	cw, ch := w/2, h/2
	buf := make([]byte, w*h+2*cw*ch)
	y, u, v := buf[:w*h], buf[w*h:w*h+cw*ch], buf[w*h+cw*ch:]
	bars := []struct{ y, u, v byte }{
		{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
		{106, 202, 222}, {81, 90, 240}, {41, 240, 110}, {16, 128, 128},
	}
	seed := uint32(i/10 + 1)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			var yy, uu, vv byte
			switch {
			case r < h/3: // vertical bars
				b := bars[c*len(bars)/w]
				yy, uu, vv = b.y, b.u, b.v
			case r < h/2: // horizontal stripes, 5 rows each
				yy, uu, vv = byte(40+((r/5)%4)*50), 128, byte(100+(r/5)%3*20)
			case c < w/2: // gradient
				yy, uu, vv = byte(r+c), byte(64+c/4), byte(192-r/4)
			case r < h/2+24 && c < w/2+24: // noise
				seed = seed*1664525 + 1013904223
				yy, uu, vv = byte(seed>>24), byte(seed>>16), byte(seed>>8)
			case r >= h-6 && c >= w-6: // zeros in the corner
				yy, uu, vv = 0, 0, 0
			default:
				yy, uu, vv = 60, 120, 140
			}
			y[r*w+c] = yy
			if r%2 == 0 && c%2 == 0 {
				u[(r/2)*cw+c/2], v[(r/2)*cw+c/2] = uu, vv
			}
		}
	}
	// "digits": 8x8 cells on an 8-pixel grid changing each frame; the
	// chroma of each cell is a small or large offset from grey.
	offsets := []int{-1, 1, 0, 2, -3, 40, -100, 1, 0, 0, 5}
	x0, y0 := (w/2+24)&^7, (h/2+8)&^7
	for r := y0; r < y0+48 && r < h-8; r++ {
		for c := x0; c < x0+64 && c < w-8; c++ {
			cell := ((r-y0)/8)*8 + (c-x0)/8
			if (cell*7+i)%5 < 2 {
				y[r*w+c] = 235
			} else {
				y[r*w+c] = 16
			}
			if r%2 == 0 && c%2 == 0 {
				k := (cell*3 + i) % len(offsets)
				u[(r/2)*cw+c/2] = byte(128 + offsets[k])
				v[(r/2)*cw+c/2] = byte(128 - offsets[(k+i)%len(offsets)])
			}
		}
	}
	// moving square
	sx, sy := (i*3)%w, h/3+(i*2)%(h/2)
	for r := sy; r < sy+20 && r < h; r++ {
		for c := sx; c < sx+20 && c < w; c++ {
			y[r*w+c] = 200
			u[(r/2)*cw+c/2], v[(r/2)*cw+c/2] = 90, 200
		}
	}
	return buf
}

// flatImage is mostly one colour with a small moving square: the bitrate
// floor for a synthetic pattern.
func flatImage(w, h, i int) []byte {
	cw, ch := w/2, h/2
	buf := make([]byte, w*h+2*cw*ch)
	for j := range buf[:w*h] {
		buf[j] = 90
	}
	for j := range buf[w*h:] {
		buf[w*h+j] = 128
	}
	sx, sy := 16+(i*16)%(w-48), 32
	for r := sy; r < sy+16; r++ {
		for c := sx; c < sx+16; c++ {
			buf[r*w+c] = 220
		}
	}
	return buf
}

// clampZeros returns the image a decoder reconstructs: zeros raised to 1.
func clampZeros(b []byte) []byte {
	out := append([]byte(nil), b...)
	for i, c := range out {
		if c == 0 {
			out[i] = 1
		}
	}
	return out
}

// toNV12 and toYUYV repack an I420 image; for YUYV both rows of a pair get
// the same chroma, so the encoder's vertical average restores it exactly.
func toNV12(i420 []byte, w, h int) []byte {
	cw, ch := w/2, h/2
	out := append([]byte(nil), i420[:w*h]...)
	u, v := i420[w*h:], i420[w*h+cw*ch:]
	for j := 0; j < cw*ch; j++ {
		out = append(out, u[j], v[j])
	}
	return out
}

func toYUYV(i420 []byte, w, h int) []byte {
	cw, ch := w/2, h/2
	out := make([]byte, 0, 2*w*h)
	u, v := i420[w*h:], i420[w*h+cw*ch:]
	for r := 0; r < h; r++ {
		for c := 0; c < w; c += 2 {
			k := (r/2)*cw + c/2
			out = append(out, i420[r*w+c], u[k], i420[r*w+c+1], v[k])
		}
	}
	return out
}

func testFrame(data []byte, f capture.PixelFormat, w, h, i int) *capture.Frame {
	m := capture.Mode{Format: f, Width: w, Height: h, FPS: 30}
	return capture.NewFrame(data, time.Duration(i)*time.Second/30, uint32(i), m, nil)
}

// blockyImage is random flat 4x4 luma blocks and random flat 2x2 chroma
// cells (8x8 luma) over the full sample range, with a fraction of them
// redrawn each frame: every 4x4 block needs a DC level, often a large one,
// and chroma DC levels reach the limits of the Baseline level coding.
func blockyImage(w, h, i int) []byte {
	cw, ch := w/2, h/2
	buf := make([]byte, w*h+2*cw*ch)
	y, u, v := buf[:w*h], buf[w*h:w*h+cw*ch], buf[w*h+cw*ch:]
	hash := func(a, b, c int) uint32 {
		x := uint32(a*73856093 ^ b*19349663 ^ c*83492791)
		x ^= x >> 13
		x *= 0x5bd1e995
		return x ^ x>>15
	}
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			bx, by := c/4, r/4
			gen := i / (1 + int(hash(bx, by, 1)%4)) // blocks change at different rates
			y[r*w+c] = byte(hash(bx, by, gen))
			if r%2 == 0 && c%2 == 0 {
				qx, qy := c/8, r/8
				g2 := i / (1 + int(hash(qx, qy, 2)%3))
				u[(r/2)*cw+c/2] = byte(hash(qx, qy, g2+7) >> 8)
				v[(r/2)*cw+c/2] = byte(hash(qx, qy, g2+9) >> 16)
			}
		}
	}
	return buf
}
