package m2m

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
)

// fwhtFrame is a valid FWHT frame header with payload bytes of payload.
func fwhtFrame(flags uint32, payload int) []byte {
	b := make([]byte, fwhtHeaderSize+payload)
	binary.BigEndian.PutUint32(b[0:], fwhtMagic1)
	binary.BigEndian.PutUint32(b[4:], fwhtMagic2)
	binary.BigEndian.PutUint32(b[8:], 3)
	binary.BigEndian.PutUint32(b[12:], 640)
	binary.BigEndian.PutUint32(b[16:], 480)
	binary.BigEndian.PutUint32(b[20:], flags)
	binary.BigEndian.PutUint32(b[40:], uint32(payload))
	return b
}

var codedSeeds = [][]byte{
	fwhtFrame(fwhtFlIFrame, 10),
	fwhtFrame(0, 0),
	fwhtFrame(0, 3)[:fwhtHeaderSize+1],
	append(append([]byte(nil), fakeSPSPPS...), 0, 0, 1, 0x65, 0x88),
	{0, 0, 0, 1, 0x41, 0x9a, 0, 0, 0},
	{0, 0, 1},
	{1, 0, 0, 1, 0x65},
	{},
}

func TestParseFWHT(t *testing.T) {
	h, err := ParseFWHT(fwhtFrame(fwhtFlIFrame, 10))
	if err != nil || !h.IFrame() || h.Width != 640 || h.Size != 10 {
		t.Errorf("I-frame: %+v %v", h, err)
	}
	if h, err := ParseFWHT(fwhtFrame(0, 0)); err != nil || h.IFrame() {
		t.Errorf("P-frame: %+v %v", h, err)
	}
	for _, b := range [][]byte{nil, fwhtFrame(0, 3)[:fwhtHeaderSize+1], make([]byte, 60)} {
		if _, err := ParseFWHT(b); err == nil {
			t.Errorf("ParseFWHT(%x) accepted", b)
		}
	}
}

func FuzzParseFWHT(f *testing.F) {
	for _, s := range codedSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseFWHT(b)
		if err == nil && int(h.Size) > len(b)-fwhtHeaderSize {
			t.Fatalf("accepted a payload of %d bytes in %d", h.Size, len(b))
		}
	})
}

func FuzzSplitAnnexB(f *testing.F) {
	for _, s := range codedSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		nalus, err := splitAnnexB(nil, b)
		if len(nalus) > MaxNALUs {
			t.Fatalf("%d NAL units", len(nalus))
		}
		for _, n := range nalus {
			if len(n) == 0 {
				t.Fatal("empty NAL unit")
			}
		}
		_ = err
	})
}

// FuzzCodedBuffer feeds arbitrary bytes as the driver's coded frames
// through the whole Encode path, for H.264 and FWHT: an error is fine, a
// panic or an access unit pointing outside the buffer is not.
func FuzzCodedBuffer(f *testing.F) {
	for _, s := range codedSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fwht bool) {
		codec := capture.H264
		if fwht {
			codec = FWHT
		}
		d := &FakeDevice{Produce: func(int, bool) []byte { return b }}
		e, err := New(Config{Device: "/dev/fake", Codec: codec, Input: capture.YU12, Width: 32, Height: 16, FPS: 25,
			Timeout: 10 * time.Millisecond, Open: func(string) (Device, error) { return d, nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		fr := frame(capture.YU12, 32, 16, 0)
		for i := range 3 {
			fr.Timestamp += time.Duration(i) * 40 * time.Millisecond
			au, err := e.Encode(fr)
			if err != nil || au == nil {
				continue
			}
			n := 0
			for _, x := range au.NALUs {
				n += len(x)
			}
			if n > 3*len(b) {
				t.Fatalf("access unit of %d bytes from %d coded", n, len(b))
			}
		}
	})
}
