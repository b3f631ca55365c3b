package rtpjpeg

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// seg is one marker segment of a JPEG header; body excludes the length.
type seg struct {
	m    byte
	body []byte
}

// split cuts a JPEG made by image/jpeg into its header segments (SOS last)
// and the rest (scan data and EOI).
func split(t testing.TB, b []byte) ([]seg, []byte) {
	t.Helper()
	var segs []seg
	i := 2
	for {
		m := b[i+1]
		l := int(b[i+2])<<8 | int(b[i+3])
		segs = append(segs, seg{m, bytes.Clone(b[i+4 : i+2+l])})
		i += 2 + l
		if m == markerSOS {
			return segs, bytes.Clone(b[i:])
		}
	}
}

func join(segs []seg, rest []byte) []byte {
	b := []byte{0xff, markerSOI}
	for _, s := range segs {
		l := len(s.body) + 2
		b = append(b, 0xff, s.m, byte(l>>8), byte(l))
		b = append(b, s.body...)
	}
	return append(b, rest...)
}

// goJPEG encodes a w×h test picture with image/jpeg: 4:2:0, with DHT.
func goJPEG(t testing.TB, w, h, quality int) []byte {
	t.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Y[y*img.YStride+x] = uint8(x*7 + y*3 + (x*y)%23)
		}
	}
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			img.Cb[y*img.CStride+x] = uint8(128 + x - y)
			img.Cr[y*img.CStride+x] = uint8(90 + 2*y)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// edit returns the segments of a fresh test JPEG after f changed them.
func edit(f func(segs []seg, rest []byte) ([]seg, []byte)) func(t testing.TB) []byte {
	return func(t testing.TB) []byte {
		segs, rest := split(t, goJPEG(t, 64, 48, 75))
		return join(f(segs, rest))
	}
}

func without(m byte) func([]seg, []byte) ([]seg, []byte) {
	return func(segs []seg, rest []byte) ([]seg, []byte) {
		var out []seg
		for _, s := range segs {
			if s.m != m {
				out = append(out, s)
			}
		}
		return out, rest
	}
}

func sofEdit(f func(body []byte)) func([]seg, []byte) ([]seg, []byte) {
	return func(segs []seg, rest []byte) ([]seg, []byte) {
		for _, s := range segs {
			if s.m == markerSOF0 {
				f(s.body)
			}
		}
		return segs, rest
	}
}

type jpegCase struct {
	name    string
	make    func(t testing.TB) []byte
	err     error // nil: Parse accepts it
	typ     uint8
	w, h    int
	restart uint16
}

var jpegCases = []jpegCase{
	{name: "image/jpeg 4:2:0 with DHT", make: edit(func(s []seg, r []byte) ([]seg, []byte) { return s, r }),
		typ: Type420, w: 64, h: 48},
	{name: "no DHT", make: edit(without(markerDHT)), typ: Type420, w: 64, h: 48},
	{name: "4:2:2", make: edit(sofEdit(func(b []byte) { b[7] = 0x21 })), typ: Type422, w: 64, h: 48},
	{name: "DRI", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		n := len(segs) - 1
		return append(segs[:n:n], seg{markerDRI, []byte{0x00, 0x04}}, segs[n]), rest
	}), typ: Type420 + TypeRestart, w: 64, h: 48, restart: 4},
	{name: "DRI of zero", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return append([]seg{{markerDRI, []byte{0, 0}}}, segs...), rest
	}), typ: Type420, w: 64, h: 48},
	{name: "APP, COM and fill bytes", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		segs = append([]seg{{0xe1, []byte("Exif")}, {markerCOM, []byte("hi")}}, segs...)
		return segs, append(rest[:len(rest)-2:len(rest)-2], 0xff, 0xff, markerEOI)
	}), typ: Type420, w: 64, h: 48},
	{name: "trailing bytes after EOI", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return segs, append(rest, 0, 0, 0, 0)
	}), typ: Type420, w: 64, h: 48},
	{name: "RST and stuffed bytes in scan", make: func(testing.TB) []byte {
		return handJPEG(4, []byte{1, 0xff, 0x00, 2, 0xff, 0xd0, 3, 0xff, 0xd7, 4})
	}, typ: Type420 + TypeRestart, w: 16, h: 8, restart: 4},
	{name: "progressive", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		for i := range segs {
			if segs[i].m == markerSOF0 {
				segs[i].m = 0xc2
			}
		}
		return segs, rest
	}), err: ErrUnsupported},
	{name: "extended sequential", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		for i := range segs {
			if segs[i].m == markerSOF0 {
				segs[i].m = 0xc1
			}
		}
		return segs, rest
	}), err: ErrUnsupported},
	{name: "height not a multiple of 8", make: edit(sofEdit(func(b []byte) { b[2] = 50 })), err: ErrDimensions},
	{name: "width above 2040", make: edit(sofEdit(func(b []byte) { b[3], b[4] = 0x08, 0x00 })), err: ErrDimensions},
	{name: "4:4:4", make: edit(sofEdit(func(b []byte) { b[7] = 0x11 })), err: ErrUnsupported},
	{name: "12-bit", make: edit(sofEdit(func(b []byte) { b[0] = 12 })), err: ErrUnsupported},
	{name: "non-standard Huffman table", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		for _, s := range segs {
			if s.m == markerDHT {
				s.body[len(s.body)-1] ^= 1
			}
		}
		return segs, rest
	}), err: ErrUnsupported},
	{name: "16-bit DQT", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return append([]seg{{markerDQT, append([]byte{0x10}, make([]byte, 128)...)}}, segs...), rest
	}), err: ErrUnsupported},
	{name: "DQT id 2", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return append([]seg{{markerDQT, append([]byte{0x02}, make([]byte, 64)...)}}, segs...), rest
	}), err: ErrUnsupported},
	{name: "no EOI", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return segs, rest[:len(rest)-2]
	}), err: ErrMalformed},
	{name: "marker inside scan", make: edit(func(segs []seg, rest []byte) ([]seg, []byte) {
		return segs, append([]byte{0x01, 0xff, markerSOS}, rest...)
	}), err: ErrUnsupported},
	{name: "no SOF", make: edit(without(markerSOF0)), err: ErrMalformed},
	{name: "no DQT", make: edit(without(markerDQT)), err: ErrMalformed},
	{name: "grayscale", make: func(t testing.TB) []byte {
		img := image.NewGray(image.Rect(0, 0, 16, 16))
		img.Set(3, 3, color.Gray{200})
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}, err: ErrUnsupported},
	{name: "empty", make: func(testing.TB) []byte { return nil }, err: ErrMalformed},
	{name: "SOI only", make: func(testing.TB) []byte { return []byte{0xff, 0xd8} }, err: ErrMalformed},
	{name: "segment overrun", make: func(testing.TB) []byte { return []byte{0xff, 0xd8, 0xff, 0xdb, 0x01, 0x00, 0x00} },
		err: ErrMalformed},
	{name: "truncated mid-header", make: func(t testing.TB) []byte { return goJPEG(t, 16, 16, 50)[:100] },
		err: ErrMalformed},
}

func TestParse(t *testing.T) {
	for _, tc := range jpegCases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Parse(tc.make(t))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Type != tc.typ || img.Width != tc.w || img.Height != tc.h || img.RestartInterval != tc.restart {
				t.Fatalf("got type %d %dx%d DRI %d", img.Type, img.Width, img.Height, img.RestartInterval)
			}
			if len(img.Quant[0]) != 64 || len(img.Quant[1]) != 64 || len(img.Scan) == 0 {
				t.Fatalf("tables %d/%d, scan %d", len(img.Quant[0]), len(img.Quant[1]), len(img.Scan))
			}
		})
	}
}

// TestStandardHuffman checks the built-in tables against the ones
// image/jpeg writes, which are the standard ones.
func TestStandardHuffman(t *testing.T) {
	segs, _ := split(t, goJPEG(t, 16, 16, 75))
	n := 0
	for _, s := range segs {
		if s.m != markerDHT {
			continue
		}
		b := s.body
		for len(b) > 0 {
			l := 17
			for _, c := range b[1:17] {
				l += int(c)
			}
			if !bytes.Equal(b[1:l], standardHuffman[b[0]>>4][b[0]&15]) {
				t.Fatalf("table %02X differs", b[0])
			}
			b = b[l:]
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d tables", n)
	}
}

func TestCheckMode(t *testing.T) {
	for _, ok := range [][2]int{{8, 8}, {1920, 1080}, {2040, 2040}, {640, 480}} {
		if err := CheckMode(ok[0], ok[1]); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][2]int{{0, 8}, {8, 0}, {-8, 8}, {1920, 1084}, {2048, 1080}, {1280, 2044}, {641, 480}} {
		if err := CheckMode(bad[0], bad[1]); !errors.Is(err, ErrDimensions) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
