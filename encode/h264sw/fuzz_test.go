package h264sw

import (
	"errors"
	"testing"

	"github.com/camagent/camagent/capture"
)

var fuzzFormats = []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV, capture.MJPG}

// FuzzEncode feeds arbitrary pixel data, sizes and formats to the encoder:
// it must never panic, fail only with ErrFrame, and emit NAL units free of
// start code emulation.
func FuzzEncode(f *testing.F) {
	f.Add(testImage(16, 16, 0), uint8(0), uint8(0), uint8(0), uint8(2))
	f.Add(testImage(50, 34, 3), uint8(17), uint8(9), uint8(0), uint8(3))
	f.Add(toNV12(testImage(32, 32, 1), 32, 32), uint8(8), uint8(8), uint8(1), uint8(2))
	f.Add(toYUYV(testImage(32, 16, 1), 32, 16), uint8(8), uint8(0), uint8(2), uint8(1))
	f.Add(make([]byte, 3*48*16), uint8(16), uint8(0), uint8(0), uint8(4))
	f.Add([]byte{1, 2, 3}, uint8(0), uint8(0), uint8(3), uint8(1))
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, data []byte, wSel, hSel, fmtSel, frames uint8) {
	w, h := 16+2*int(wSel%25), 16+2*int(hSel%25)
	enc, err := New(Config{Width: w, Height: h, FPS: 30, GOP: 3})
	if err != nil {
		t.Fatal(err)
	}
	format := fuzzFormats[int(fmtSel)%len(fuzzFormats)]
	for i := 0; i < 1+int(frames%5); i++ {
		// Vary the data between frames so P pictures mix skip and coded macroblocks.
		buf := append([]byte(nil), data...)
		for j := i; j < len(buf); j += 97 {
			buf[j] ^= byte(i)
		}
		if i == 2 {
			enc.ForceKeyframe()
		}
		au, err := enc.Encode(testFrame(buf, format, w, h, i))
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("unexpected error %v", err)
			}
			continue
		}
		for _, n := range au.NALUs {
			if k := badEscape(n); k >= 0 {
				t.Fatalf("bad emulation prevention at byte %d of %x", k, n)
			}
		}
	}
}
