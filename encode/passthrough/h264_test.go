package passthrough

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/filesrc"
	"github.com/camagent/camagent/encode"
)

// Synthetic NAL units (with four-byte start codes).
var (
	aud    = []byte{0, 0, 0, 1, 0x09, 0xf0}
	sps    = []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80} // x264 320x240 baseline
	pps    = []byte{0, 0, 0, 1, 0x68, 0xcb, 0x83, 0xcb, 0x20}
	sei    = []byte{0, 0, 0, 1, 0x06, 0x05, 0x01, 0x00, 0x80}
	idr    = []byte{0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33}
	pslice = []byte{0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x04}
	filler = []byte{0, 0, 0, 1, 0x0c, 0xff, 0xff, 0x80}
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func h264Frame(data []byte, seq uint32) *capture.Frame {
	return capture.NewFrame(data, time.Duration(seq)*time.Millisecond, seq,
		capture.Mode{Format: capture.H264, Width: 320, Height: 240}, nil)
}

// types describes an access unit as its NAL unit types, e.g. "7 8 5";
// "-" for no access unit.
func types(au *encode.AccessUnit) string {
	if au == nil {
		return "-"
	}
	var ts []string
	for _, n := range au.NALUs {
		ts = append(ts, strconv.Itoa(int(n[0]&0x1f)))
	}
	return strings.Join(ts, " ")
}

// h264Cases are streams of frames and the access units expected from each.
var h264Cases = []struct {
	name    string
	frames  [][]byte
	want    []string // types() of each result; "err" for an error
	dropped uint64
}{
	{"in-band headers", [][]byte{cat(sps, pps, idr), cat(pslice)}, []string{"7 8 5", "1"}, 0},
	{"aud and filler dropped", [][]byte{cat(aud, sps, pps, idr, filler), cat(aud, pslice)}, []string{"7 8 5", "1"}, 0},
	{"headers in a buffer of their own", [][]byte{cat(sps, pps), idr, pslice, idr}, []string{"-", "7 8 5", "1", "7 8 5"}, 0},
	{"headers only once", [][]byte{cat(sps, pps, idr), pslice, cat(sei, idr)}, []string{"7 8 5", "1", "7 8 6 5"}, 0},
	{"pps missing", [][]byte{cat(sps, pps, idr), cat(sps, idr)}, []string{"7 8 5", "7 8 5"}, 0},
	{"pps goes after the sps", [][]byte{cat(sps, pps, idr), cat(sei, sps, idr)}, []string{"7 8 5", "6 7 8 5"}, 0},
	{"parameter sets after the idr slice", [][]byte{cat(sps, pps, idr), cat(idr, sps, pps), cat(pps, idr)}, []string{"7 8 5", "7 8 5 7 8", "7 8 5"}, 0},
	{"sps missing", [][]byte{cat(sps, pps, idr), cat(pps, idr)}, []string{"7 8 5", "7 8 5"}, 0},
	{"drop until first idr", [][]byte{pslice, cat(sps, pps, pslice), cat(idr), pslice}, []string{"-", "-", "7 8 5", "1"}, 2},
	{"idr without parameter sets", [][]byte{idr, cat(sps, pps, idr)}, []string{"-", "7 8 5"}, 1},
	{"three-byte start codes and padding", [][]byte{cat([]byte{0, 0}, sps[1:], pps, []byte{0, 0, 1, 0x65, 0x88, 0x84, 0, 0})},
		[]string{"7 8 5"}, 0},
	{"no start code", [][]byte{{0x65, 0x88}}, []string{"err"}, 0},
	{"garbage before start code", [][]byte{cat([]byte{1}, idr)}, []string{"err"}, 0},
	{"empty", [][]byte{{}}, []string{"err"}, 0},
	{"only start codes", [][]byte{{0, 0, 1, 0, 0, 1}}, []string{"err"}, 0},
}

func TestH264Cases(t *testing.T) {
	for _, c := range h264Cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewH264()
			for i, fr := range c.frames {
				au, err := e.Encode(h264Frame(fr, uint32(i)))
				got := types(au)
				if err != nil {
					got = "err"
					if !errors.Is(err, ErrBitstream) {
						t.Errorf("frame %d: %v is not ErrBitstream", i, err)
					}
				}
				if got != c.want[i] {
					t.Errorf("frame %d: got %q, want %q (err %v)", i, got, c.want[i], err)
				}
				if au != nil {
					if au.Keyframe != strings.Contains(" "+got+" ", " 5 ") || au.Codec != encode.H264 ||
						au.Sequence != uint32(i) || au.Timestamp != time.Duration(i)*time.Millisecond {
						t.Errorf("frame %d: %+v", i, au)
					}
				}
			}
			if e.Dropped() != c.dropped {
				t.Errorf("dropped %d, want %d", e.Dropped(), c.dropped)
			}
		})
	}
}

func TestH264WrongFormat(t *testing.T) {
	f := h264Frame(cat(sps, pps, idr), 0)
	f.Format = capture.MJPG
	if _, err := NewH264().Encode(f); !errors.Is(err, ErrFormat) {
		t.Errorf("err = %v, want ErrFormat", err)
	}
}

func TestParameterSetsAndInfo(t *testing.T) {
	e := NewH264()
	if s, p := e.ParameterSets(); s != nil || p != nil {
		t.Fatalf("parameter sets before any frame: %x %x", s, p)
	}
	if _, err := e.SPSInfo(); !errors.Is(err, ErrNoSPS) {
		t.Fatalf("SPSInfo before any frame: %v", err)
	}
	in := cat(sps, pps, idr)
	if _, err := e.Encode(h264Frame(in, 0)); err != nil {
		t.Fatal(err)
	}
	s, p := e.ParameterSets()
	if !bytes.Equal(s, sps[4:]) || !bytes.Equal(p, pps[4:]) {
		t.Errorf("parameter sets %x %x", s, p)
	}
	in[5] = 0 // the cache holds copies
	if s, _ := e.ParameterSets(); s[1] != 0x42 {
		t.Errorf("cached SPS aliases the frame")
	}
	info, err := e.SPSInfo()
	want := SPSInfo{Width: 320, Height: 240, ProfileIdc: 66, Constraints: 0xc0, LevelIdc: 13}
	if err != nil || info != want {
		t.Errorf("SPSInfo = %+v, %v; want %+v", info, err, want)
	}
	// An SPS mediacommon cannot parse is still cached and passed on.
	bad := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0d}
	au, err := e.Encode(h264Frame(cat(bad, idr), 1))
	if err != nil || types(au) != "7 8 5" {
		t.Fatalf("frame with a bad SPS: %q, %v", types(au), err)
	}
	if info, err := e.SPSInfo(); err == nil || info.ProfileIdc != 66 {
		t.Errorf("SPSInfo after a bad SPS: %+v, %v", info, err)
	}
}

// readClip replays a clip through filesrc on a fake clock and returns its
// frames (one pass).
func readClip(t testing.TB, path string) []*capture.Frame {
	t.Helper()
	var now time.Duration
	src, err := filesrc.Open(filesrc.Config{Path: path, FPS: 25,
		Now:   func() time.Duration { return now },
		Sleep: func(_ context.Context, d time.Duration) error { now += d; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*capture.Frame
	for range src.Frames() {
		f, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := *f
		out = append(out, &c)
		f.Release()
	}
	return out
}

// checkClip encodes frames and checks the access units: 50 of them, a
// keyframe every 25 frames, SPS and PPS first in every keyframe, no AUD.
// It returns the access units in Annex-B form.
func checkClip(t *testing.T, frames []*capture.Frame) [][]byte {
	t.Helper()
	e := NewH264()
	var out [][]byte
	for i, f := range frames {
		au, err := e.Encode(f)
		if err != nil || au == nil {
			t.Fatalf("frame %d: %v, %v", i, au, err)
		}
		if au.Keyframe != (i%25 == 0) {
			t.Errorf("frame %d: keyframe %v", i, au.Keyframe)
		}
		ts := types(au)
		if au.Keyframe && !strings.HasPrefix(ts, "7 8 ") {
			t.Errorf("frame %d: keyframe NAL units %q, want SPS and PPS first", i, ts)
		}
		if strings.Contains(" "+ts+" ", " 9 ") {
			t.Errorf("frame %d: AUD in the output %q", i, ts)
		}
		if au.Sequence != f.Sequence || au.Timestamp != f.Timestamp {
			t.Errorf("frame %d: seq/ts %d %v, want %d %v", i, au.Sequence, au.Timestamp, f.Sequence, f.Timestamp)
		}
		var b []byte
		for _, n := range au.NALUs {
			b = append(append(b, 0, 0, 0, 1), n...)
		}
		out = append(out, b)
	}
	if len(out) != 50 {
		t.Fatalf("%d access units, want 50", len(out))
	}
	if info, err := e.SPSInfo(); err != nil || info.Width != 320 || info.Height != 240 || info.ProfileIdc != 66 {
		t.Errorf("SPSInfo %+v, %v", info, err)
	}
	return out
}

func TestH264Clip(t *testing.T) {
	frames := readClip(t, clip(t, "x.264"))
	auds := 0
	for _, f := range frames {
		if bytes.Contains(f.Data, []byte{0, 0, 1, 0x09}) {
			auds++
		}
	}
	if auds != 50 {
		t.Fatalf("the clip has %d AUDs, want one per frame (x264 aud=1)", auds)
	}
	checkClip(t, frames)
}

// stripParameterSets removes SPS and PPS NAL units from an Annex-B frame.
func stripParameterSets(t *testing.T, b []byte) []byte {
	nalus, err := splitAnnexB(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, n := range nalus {
		if typ := n[0] & 0x1f; typ != nalSPS && typ != nalPPS {
			out = append(append(out, 0, 0, 0, 1), n...)
		}
	}
	return out
}

// TestH264HeadersOnce feeds the clip with SPS and PPS only in the first
// frame, as some cameras send them, and checks that the output from the
// second IDR on decodes by itself (ffmpeg counts its frames).
//
// No ffmpeg option found gives such a stream directly: x264's
// repeat-headers=0 to a raw .264 leaves the headers out altogether (they go
// to extradata, which the raw muxer drops), and h264_mp4toannexb or
// dump_extra put them back before every keyframe. So the test strips them.
func TestH264HeadersOnce(t *testing.T) {
	frames := readClip(t, clip(t, "x.264"))
	for _, f := range frames[1:] {
		f.Data = stripParameterSets(t, f.Data)
	}
	if bytes.Contains(frames[25].Data, []byte{0, 0, 1, 0x67}) {
		t.Fatal("SPS still in frame 25")
	}
	out := checkClip(t, frames)

	ffmpeg := needTool(t, "ffmpeg")
	p := filepath.Join(t.TempDir(), "tail.264")
	if err := os.WriteFile(p, bytes.Join(out[25:], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-xerror", "-i", p, "-f", "framemd5", "-")
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg cannot decode the output from the second IDR on: %v", err)
	}
	decoded := 0
	for _, l := range strings.Split(string(res), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			decoded++
		}
	}
	if decoded != 25 {
		t.Errorf("ffmpeg decoded %d frames, want 25", decoded)
	}
}

func TestH264NoAllocs(t *testing.T) {
	frames := readClip(t, clip(t, "x.264"))
	e := NewH264()
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := e.Encode(frames[i%len(frames)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Encode allocates %v times per frame", allocs)
	}
}

func FuzzH264Encode(f *testing.F) {
	for _, c := range h264Cases {
		for _, fr := range c.frames {
			f.Add(fr)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fresh := NewH264()
		primed := NewH264()
		if _, err := primed.Encode(h264Frame(cat(sps, pps, idr), 0)); err != nil {
			t.Fatal(err)
		}
		for _, e := range []*H264{fresh, primed, fresh} {
			au, err := e.Encode(h264Frame(b, 1))
			if err != nil {
				if !errors.Is(err, ErrBitstream) {
					t.Fatalf("error %v is not ErrBitstream", err)
				}
				continue
			}
			if au == nil {
				continue
			}
			if len(au.NALUs) == 0 || len(au.NALUs) > MaxNALUs+2 {
				t.Fatalf("%d NAL units", len(au.NALUs))
			}
			for _, n := range au.NALUs {
				if len(n) == 0 {
					t.Fatal("empty NAL unit")
				}
				if typ := n[0] & 0x1f; typ == nalAUD || typ == nalFiller {
					t.Fatalf("NAL unit type %d in the output", typ)
				}
			}
			if au.Keyframe {
				s, p := e.ParameterSets()
				if s == nil || p == nil {
					t.Fatal("keyframe without cached parameter sets")
				}
				// An SPS and a PPS before the first IDR slice.
				seen := map[byte]bool{}
				for _, n := range au.NALUs {
					typ := n[0] & 0x1f
					if typ == nalIDR {
						break
					}
					seen[typ] = true
				}
				if !seen[nalSPS] || !seen[nalPPS] {
					t.Fatalf("keyframe NAL unit order %q", types(au))
				}
			}
		}
	})
}
