package filesrc

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// nal builds an Annex-B NAL unit with a four-byte start code. For slices
// (types 1, 2, 5) mb0 chooses first_mb_in_slice 0 (a new picture) or 1.
func nal(typ byte, mb0 bool) []byte {
	b := []byte{0, 0, 0, 1, 0x60 | typ}
	switch typ {
	case 1, 2, 5:
		if mb0 {
			b = append(b, 0x88, 0x84) // ue 0, then slice bits
		} else {
			b = append(b, 0x48, 0x84) // ue 1
		}
	default:
		b = append(b, 0x42, 0xc0, 0x1e) // some payload
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// auTypes describes each access unit as its NAL types, e.g. "9 7 8 5|9 1".
func auTypes(aus [][]byte) string {
	var out []string
	for _, au := range aus {
		var ts []string
		for i := 0; i+3 < len(au); i++ {
			if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
				ts = append(ts, fmt.Sprint(au[i+3]&0x1f))
				i += 2
			}
		}
		out = append(out, strings.Join(ts, " "))
	}
	return strings.Join(out, "|")
}

var annexBCases = []struct {
	name string
	in   []byte
	want string // NAL types per access unit; "" with wantErr
	sps  bool
	err  bool
}{
	{"aud sps pps idr, aud p",
		cat(nal(9, false), nal(7, false), nal(8, false), nal(5, true), nal(9, false), nal(1, true)),
		"9 7 8 5|9 1", true, false},
	{"multi-slice pictures",
		cat(nal(7, false), nal(8, false), nal(5, true), nal(5, false), nal(1, true), nal(1, false), nal(1, true)),
		"7 8 5 5|1 1|1", true, false},
	{"three-byte start codes", cat([]byte{0, 0, 1, 0x65, 0x88}, []byte{0, 0, 1, 0x41, 0x9a}, []byte{0, 0, 1, 0x41, 0x9a}),
		"5|1|1", false, false},
	{"idr flag change starts a picture", cat(nal(5, true), nal(1, false)), "5|1", false, false},
	{"sei before a picture", cat(nal(5, true), nal(6, false), nal(1, true)), "5|6 1", false, false},
	{"parameter sets before each idr", cat(nal(7, false), nal(8, false), nal(5, true), nal(1, true), nal(7, false), nal(8, false), nal(5, true)),
		"7 8 5|1|7 8 5", true, false},
	{"end of stream stays with the last picture", cat(nal(5, true), nal(1, true), nal(11, false)), "5|1 11", false, false},
	{"leading garbage and trailing zeros", cat([]byte{0xde, 0xad}, nal(5, true), []byte{0, 0, 0}, nal(1, true), []byte{0, 0}),
		"5|1", false, false},
	{"trailing parameter sets dropped", cat(nal(5, true), nal(7, false), nal(8, false)), "5", true, false},
	{"empty nal units", cat([]byte{0, 0, 1, 0, 0, 1}, nal(5, true)), "5", false, false},
	{"only parameter sets", cat(nal(7, false), nal(8, false)), "", true, true},
	{"no start code", []byte{1, 2, 3, 4}, "", false, true},
	{"empty", nil, "", false, true},
}

func TestSplitAnnexB(t *testing.T) {
	for _, c := range annexBCases {
		t.Run(c.name, func(t *testing.T) {
			aus, sps, err := splitAnnexB(c.in)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if got := auTypes(aus); got != c.want {
				t.Errorf("access units %q, want %q", got, c.want)
			}
			if (sps != nil) != c.sps {
				t.Errorf("sps = %x, want found %v", sps, c.sps)
			}
			for _, au := range aus {
				if !bytes.HasPrefix(au, []byte{0, 0, 1}) && !bytes.HasPrefix(au, []byte{0, 0, 0, 1}) {
					t.Errorf("access unit %x does not start with a start code", au)
				}
				if au[len(au)-1] == 0 {
					t.Errorf("access unit %x ends with a zero byte", au)
				}
			}
		})
	}
}

func FuzzSplitAnnexB(f *testing.F) {
	for _, c := range annexBCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		aus, _, err := splitAnnexB(b)
		if err != nil {
			return
		}
		total := 0
		for _, au := range aus {
			if len(au) < 4 {
				t.Fatalf("access unit %x too short", au)
			}
			total += len(au)
		}
		if total > len(b) || len(aus) > len(b)/4 {
			t.Fatalf("%d access units of %d bytes from %d bytes", len(aus), total, len(b))
		}
	})
}

// jpeg builds a minimal baseline JPEG: SOI, the given segments, SOF0 of
// w x h, SOS, entropy data, EOI.
func jpeg(w, h int, extra []byte, entropy []byte) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, extra...)
	b = append(b, 0xff, 0xc0, 0, 11, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	b = append(b, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0)
	b = append(b, entropy...)
	return append(b, 0xff, 0xd9)
}

// app1 is an APP1 segment carrying bytes that look like an embedded JPEG.
func app1(payload []byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, 0xe1, byte(n >> 8), byte(n)}, payload...)
}

var (
	plainEntropy = []byte{0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd0, 0x78, 0xff, 0xff}
	thumbnail    = app1(jpeg(8, 8, nil, []byte{1, 2, 3}))
)

var mjpegCases = []struct {
	name          string
	in            []byte
	frames        int
	width, height int
	skipped       int
	err           bool
}{
	{"two images", cat(jpeg(320, 240, nil, plainEntropy), jpeg(320, 240, nil, plainEntropy)), 2, 320, 240, 0, false},
	{"thumbnail in APP1", cat(jpeg(640, 480, thumbnail, plainEntropy), jpeg(640, 480, thumbnail, nil)), 2, 640, 480, 0, false},
	{"garbage between images", cat([]byte{1, 2}, jpeg(16, 16, nil, nil), []byte{0, 0, 0xff}, jpeg(16, 16, nil, nil)), 2, 16, 16, 0, false},
	{"truncated last image", cat(jpeg(16, 8, nil, plainEntropy), jpeg(16, 8, nil, plainEntropy)[:20]), 1, 16, 8, 1, false},
	{"stray SOI in entropy data", cat(jpeg(16, 8, nil, []byte{1, 0xff, 0xd8, 2}), jpeg(32, 8, nil, nil)), 1, 32, 8, 2, false},
	{"fill bytes before markers", []byte{0xff, 0xd8, 0xff, 0xff, 0xc0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 5, 0xff, 0xff, 0xd9},
		1, 8, 8, 0, false},
	{"no SOF", []byte{0xff, 0xd8, 0xff, 0xda, 0, 2, 1, 0xff, 0xd9}, 0, 0, 0, 1, true},
	{"bad segment length", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xd9}, 0, 0, 0, 1, true},
	{"empty", nil, 0, 0, 0, 0, true},
}

func TestSplitMJPEG(t *testing.T) {
	for _, c := range mjpegCases {
		t.Run(c.name, func(t *testing.T) {
			frames, w, h, skipped, err := splitMJPEG(c.in)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if len(frames) != c.frames || w != c.width || h != c.height || skipped != c.skipped {
				t.Errorf("got %d frames %dx%d, %d skipped; want %d frames %dx%d, %d skipped",
					len(frames), w, h, skipped, c.frames, c.width, c.height, c.skipped)
			}
			for _, fr := range frames {
				if !bytes.HasPrefix(fr, []byte{0xff, 0xd8}) || !bytes.HasSuffix(fr, []byte{0xff, 0xd9}) {
					t.Errorf("frame %x is not SOI..EOI", fr)
				}
			}
		})
	}
}

func FuzzSplitMJPEG(f *testing.F) {
	for _, c := range mjpegCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, _, _, skipped, err := splitMJPEG(b)
		if err != nil {
			return
		}
		total := 0
		for _, fr := range frames {
			if !bytes.HasPrefix(fr, soi) || !bytes.HasSuffix(fr, []byte{0xff, 0xd9}) {
				t.Fatalf("frame %x is not SOI..EOI", fr)
			}
			total += len(fr)
		}
		if total > len(b) || skipped > len(b) {
			t.Fatalf("%d frames of %d bytes, %d skipped, from %d bytes", len(frames), total, skipped, len(b))
		}
	})
}
