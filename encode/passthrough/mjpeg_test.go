package passthrough

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// testJPEG builds a minimal baseline JPEG: SOI, extra segments, SOF0,
// SOS, entropy data, EOI.
func testJPEG(extra []byte) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, extra...)
	b = append(b, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0)
	b = append(b, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0)
	b = append(b, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56)
	return append(b, 0xff, 0xd9)
}

var app0 = []byte{0xff, 0xe0, 0, 6, 'A', 'V', 'I', '1'}

var mjpegCases = []struct {
	name string
	in   []byte
	want []byte // nil: error
}{
	{"plain", testJPEG(nil), testJPEG(nil)},
	{"app0 and fill bytes", cat([]byte{0xff, 0xd8, 0xff}, app0, testJPEG(nil)[2:]), cat([]byte{0xff, 0xd8, 0xff}, app0, testJPEG(nil)[2:])},
	{"padding after EOI", cat(testJPEG(nil), make([]byte, 100)), testJPEG(nil)},
	{"no SOI", testJPEG(nil)[2:], nil},
	{"no EOI", testJPEG(nil)[:len(testJPEG(nil))-2], nil},
	{"no SOF", []byte{0xff, 0xd8, 0xff, 0xda, 0, 2, 1, 2, 0xff, 0xd9}, nil},
	{"bad segment length", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xd9}, nil},
	{"segment past EOI", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 9, 0xff, 0xd9}, nil},
	{"EOI before SOS", []byte{0xff, 0xd8, 0xff, 0xc0, 0, 2, 0xff, 0xd9}, nil},
	{"short", []byte{0xff, 0xd8}, nil},
}

func jpegFrame(b []byte, seq uint32) *capture.Frame {
	return capture.NewFrame(b, 0, seq, capture.Mode{Format: capture.MJPG}, nil)
}

func TestMJPEGCases(t *testing.T) {
	for _, c := range mjpegCases {
		t.Run(c.name, func(t *testing.T) {
			au, err := NewMJPEG().Encode(jpegFrame(c.in, 7))
			if c.want == nil {
				if !errors.Is(err, ErrJPEG) {
					t.Errorf("err = %v, want ErrJPEG", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(au.JPEG, c.want) || !au.Keyframe || au.Codec != encode.MJPEG || au.Sequence != 7 {
				t.Errorf("got %+v", au)
			}
		})
	}
}

func TestMJPEGFormats(t *testing.T) {
	e := NewMJPEG()
	f := jpegFrame(testJPEG(nil), 0)
	f.Format = capture.JPEG
	if _, err := e.Encode(f); err != nil {
		t.Errorf("JPEG format: %v", err)
	}
	f.Format = capture.H264
	if _, err := e.Encode(f); !errors.Is(err, ErrFormat) {
		t.Errorf("H264 format: %v, want ErrFormat", err)
	}
}

func TestMJPEGClip(t *testing.T) {
	frames := readClip(t, clip(t, "x.mjpeg"))
	if len(frames) != 50 {
		t.Fatalf("%d frames, want 50", len(frames))
	}
	e := NewMJPEG()
	for i, f := range frames {
		au, err := e.Encode(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(au.JPEG, f.Data) || au.Timestamp != f.Timestamp || au.Sequence != f.Sequence {
			t.Errorf("frame %d: access unit differs from the frame", i)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := e.Encode(frames[3]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Encode allocates %v times per frame", allocs)
	}
}

func FuzzMJPEGEncode(f *testing.F) {
	for _, c := range mjpegCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		au, err := NewMJPEG().Encode(jpegFrame(b, 0))
		if err != nil {
			return
		}
		j := au.JPEG
		if !bytes.HasPrefix(j, []byte{0xff, 0xd8}) || !bytes.HasSuffix(j, []byte{0xff, 0xd9}) || len(j) > len(b) {
			t.Fatalf("bad JPEG %x from %x", j, b)
		}
	})
}

func BenchmarkMJPEGEncode1080p(b *testing.B) {
	data, err := os.ReadFile(clip(b, "1080.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	e := NewMJPEG()
	f := jpegFrame(data, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}
