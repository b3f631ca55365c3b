package m2m

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/encode/choose"
)

const tw, th = 64, 48

func newFake(t *testing.T, d *FakeDevice, cfg Config) *Encoder {
	t.Helper()
	if cfg.Codec == 0 {
		cfg.Codec = capture.H264
	}
	if cfg.Input == 0 {
		cfg.Input = capture.YU12
	}
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = tw, th
	}
	if cfg.FPS == 0 {
		cfg.FPS = 25
	}
	cfg.Device = "/dev/fake"
	cfg.Open = func(string) (Device, error) { return d, nil }
	if cfg.Timeout == 0 {
		cfg.Timeout = 200 * time.Millisecond
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func frame(f capture.PixelFormat, w, h, i int) *capture.Frame {
	data := make([]byte, rawFrameSize(f, w, h))
	for k := range data {
		data[k] = byte(k + i)
	}
	return capture.NewFrame(data, time.Second+time.Duration(i)*40*time.Millisecond, uint32(1000+i),
		capture.Mode{Format: f, Width: w, Height: h, FPS: 25}, nil)
}

func encodeN(t *testing.T, e *Encoder, from, n int) []encode.AccessUnit {
	t.Helper()
	var out []encode.AccessUnit
	for i := from; i < from+n; i++ {
		f := frame(e.cfg.Input, e.cfg.Width, e.cfg.Height, i)
		au, err := e.Encode(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if au == nil {
			t.Fatalf("frame %d: no access unit", i)
		}
		if au.Timestamp != f.Timestamp || au.Sequence != f.Sequence {
			t.Errorf("frame %d: access unit stamped %v #%d, frame %v #%d", i, au.Timestamp, au.Sequence, f.Timestamp, f.Sequence)
		}
		c := *au
		c.NALUs = nil
		for _, n := range au.NALUs {
			c.NALUs = append(c.NALUs, bytes.Clone(n))
		}
		out = append(out, c)
	}
	return out
}

func keyIndices(aus []encode.AccessUnit, from int) []int {
	var k []int
	for i, au := range aus {
		if au.Keyframe {
			k = append(k, from+i)
		}
	}
	return k
}

func size(au encode.AccessUnit) int {
	n := 0
	for _, x := range au.NALUs {
		n += len(x)
	}
	return n
}

// The initialization sequence of the kernel's stateful encoder interface.
func TestSetupOrder(t *testing.T) {
	d := &FakeDevice{}
	e := newFake(t, d, Config{})
	encodeN(t, e, 0, 2)
	e.Close()
	want := []string{"S_FMT CAPTURE H264", "S_FMT OUTPUT YU12", "S_PARM 25", "REQBUFS OUTPUT 3", "REQBUFS CAPTURE 4",
		"STREAMON OUTPUT", "STREAMON CAPTURE", "ENCODER_CMD STOP", "CLOSE"}
	if got := d.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q\nwant  %q", got, want)
	}
	if closed, clean := d.Closed(); !closed || !clean || !e.Stats().Drained {
		t.Errorf("after Close: closed %v, buffers freed and queues stopped %v, drained %v", closed, clean, e.Stats().Drained)
	}
	if _, err := e.Encode(frame(capture.YU12, tw, th, 3)); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
	if v, _ := d.ControlValue(cidH264Profile); v != h264ProfileCBaseline {
		t.Errorf("profile %d, want constrained baseline", v)
	}
	if v, _ := d.ControlValue(cidRepeatSeqHeader); v != 1 {
		t.Errorf("repeat sequence header %d, want 1", v)
	}
}

func TestCloseWithoutFramesDoesNotDrain(t *testing.T) {
	d := &FakeDevice{}
	e := newFake(t, d, Config{})
	e.Close()
	if slices.Contains(d.Calls(), "ENCODER_CMD STOP") {
		t.Error("Close drained an encoder that was given no frame")
	}
	if closed, clean := d.Closed(); !closed || !clean {
		t.Errorf("closed %v clean %v", closed, clean)
	}
}

func TestFWHTGOPAndQualityLive(t *testing.T) {
	d := &FakeDevice{}
	e := newFake(t, d, Config{Codec: FWHT, GOP: 5, Quality: 90})
	if k := e.Knobs(); !k.Has(encode.KnobQuality|encode.KnobFramerate) || k.Has(encode.KnobBitrate) || k.Has(encode.KnobKeyframe) {
		t.Errorf("knobs %v, want framerate and quality", k)
	}
	a := encodeN(t, e, 0, 10)
	if err := e.SetGOP(3); err != nil {
		t.Fatal(err)
	}
	if err := e.SetQuality(5); err != nil {
		t.Fatal(err)
	}
	b := encodeN(t, e, 10, 9)
	if got := keyIndices(a, 0); !slices.Equal(got, []int{0, 5}) {
		t.Errorf("GOP 5: keyframes %v", got)
	}
	if got := keyIndices(b, 10); !slices.Equal(got, []int{10, 13, 16}) {
		t.Errorf("GOP 3: keyframes %v", got)
	}
	if size(b[1]) >= size(a[1]) {
		t.Errorf("P-frame of %d bytes at quality 5, %d at 90", size(b[1]), size(a[1]))
	}
	if v, _ := d.ControlValue(cidFWHTPFrameQP); v != qpFor(5, d.Controls[cidFWHTPFrameQP]) || v < 25 {
		t.Errorf("P QP %d after quality 5", v)
	}
	if err := e.SetBitrate(500_000); !errors.Is(err, encode.ErrNoKnob) {
		t.Errorf("SetBitrate on FWHT: %v, want ErrNoKnob", err)
	}
	if len(a[0].NALUs) != 1 || a[0].Codec != 0 {
		t.Errorf("FWHT access unit: %d parts, codec %v", len(a[0].NALUs), a[0].Codec)
	}
}

func nalTypes(au encode.AccessUnit) []int {
	var ts []int
	for _, n := range au.NALUs {
		ts = append(ts, nalType(n))
	}
	return ts
}

func TestH264ParameterSetsBeforeEveryIDR(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  *FakeDevice
	}{
		{"repeated", &FakeDevice{}},
		{"once", &FakeDevice{HeaderOnce: true}},
		{"separate buffer", &FakeDevice{SeparateHeader: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dev
			e := newFake(t, d, Config{GOP: 4})
			aus := encodeN(t, e, 0, 9)
			for i, au := range aus {
				want := []int{nalSlice}
				if i%4 == 0 {
					want = []int{nalSPS, nalPPS, nalIDR}
				}
				if got := nalTypes(au); !slices.Equal(got, want) || au.Keyframe != (i%4 == 0) || au.Codec != encode.H264 {
					t.Errorf("frame %d: NAL types %v keyframe %v, want %v", i, got, au.Keyframe, want)
				}
			}
			sps, pps := e.ParameterSets()
			if len(sps) == 0 || nalType(sps) != nalSPS || len(pps) == 0 || nalType(pps) != nalPPS {
				t.Errorf("ParameterSets %x %x", sps, pps)
			}
		})
	}
}

func TestH264KnobsLive(t *testing.T) {
	d := &FakeDevice{}
	e := newFake(t, d, Config{GOP: 100, Bitrate: 1_000_000})
	if k := e.Knobs(); !k.Has(encode.KnobBitrate | encode.KnobFramerate | encode.KnobKeyframe) {
		t.Errorf("knobs %v", k)
	}
	a := encodeN(t, e, 0, 3)
	e.ForceKeyframe()
	if err := e.SetBitrate(200_000); err != nil {
		t.Fatal(err)
	}
	b := encodeN(t, e, 3, 3)
	if !b[0].Keyframe || b[1].Keyframe {
		t.Errorf("ForceKeyframe: keyframes %v", keyIndices(b, 3))
	}
	if v, _ := d.ControlValue(cidBitrate); v != 200_000 {
		t.Errorf("bitrate control %d, want 200000", v)
	}
	if size(b[1]) >= size(a[1]) {
		t.Errorf("P-frame of %d bytes at 200 kbit/s, %d at 1 Mbit/s", size(b[1]), size(a[1]))
	}
	if err := e.SetBitrate(1); err == nil {
		t.Error("SetBitrate(1) accepted")
	}
	if err := e.SetGOP(0); err == nil {
		t.Error("SetGOP(0) accepted")
	}
}

func TestFramerateDropsFrames(t *testing.T) {
	d := &FakeDevice{}
	e := newFake(t, d, Config{})
	if err := e.SetFramerate(5); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i := range 50 {
		au, err := e.Encode(frame(capture.YU12, tw, th, i))
		if err != nil {
			t.Fatal(err)
		}
		if au != nil {
			kept++
		}
	}
	if kept < 9 || kept > 11 || e.Stats().Dropped != uint64(50-kept) {
		t.Errorf("kept %d of 50 frames (2 s) at 5 fps (dropped %d)", kept, e.Stats().Dropped)
	}
	if !slices.Contains(d.Calls(), "S_PARM 5") {
		t.Errorf("the driver's frame interval was not set: %q", d.Calls())
	}
}

func TestFailedBufferForcesKeyframe(t *testing.T) {
	d := &FakeDevice{FailFrames: map[int]bool{2: true}}
	e := newFake(t, d, Config{GOP: 100})
	encodeN(t, e, 0, 2)
	au, err := e.Encode(frame(capture.YU12, tw, th, 2))
	if au != nil || err != nil {
		t.Fatalf("failed buffer: %v, %v; want nothing", au, err)
	}
	b := encodeN(t, e, 3, 2)
	if !b[0].Keyframe || e.Stats().Errors != 1 {
		t.Errorf("after a failed buffer: keyframe %v, errors %d", b[0].Keyframe, e.Stats().Errors)
	}
}

func TestSourceChangeAndTimeout(t *testing.T) {
	d := &FakeDevice{SourceChangeAfter: 1, Stall: false}
	e := newFake(t, d, Config{})
	encodeN(t, e, 0, 1)
	d.Stall = true
	if _, err := e.Encode(frame(capture.YU12, tw, th, 1)); !errors.Is(err, ErrSourceChange) {
		t.Errorf("after a source change event: %v", err)
	}
	d2 := &FakeDevice{Stall: true}
	e2 := newFake(t, d2, Config{Timeout: 20 * time.Millisecond})
	if _, err := e2.Encode(frame(capture.YU12, tw, th, 0)); !errors.Is(err, ErrTimeout) {
		t.Errorf("stalled device: %v, want ErrTimeout", err)
	}
	e2.Close()
	if closed, clean := d2.Closed(); !closed || !clean {
		t.Errorf("stalled device closed %v clean %v", closed, clean)
	}
}

func TestBadFrames(t *testing.T) {
	e := newFake(t, &FakeDevice{}, Config{})
	for _, f := range []*capture.Frame{
		nil,
		frame(capture.NV12, tw, th, 0),
		frame(capture.YU12, tw+2, th, 0),
		capture.NewFrame(make([]byte, 10), 0, 0, capture.Mode{Format: capture.YU12, Width: tw, Height: th}, nil),
	} {
		if _, err := e.Encode(f); !errors.Is(err, ErrFrame) {
			t.Errorf("bad frame: %v, want ErrFrame", err)
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  *FakeDevice
		cfg  Config
		want string
	}{
		{"single-planar", &FakeDevice{DevCaps: Caps{Driver: "x", Card: "x", DeviceCaps: capVideoM2M | capStreaming}}, Config{}, "single-planar"},
		{"capture", &FakeDevice{DevCaps: Caps{Driver: "uvcvideo", Card: "cam", DeviceCaps: 1 | capStreaming}}, Config{}, "not a memory-to-memory"},
		{"decoder", &FakeDevice{CaptureFormats: []capture.PixelFormat{capture.YU12}}, Config{}, "does not code H264"},
		{"input", &FakeDevice{OutputFormats: []capture.PixelFormat{capture.NV12}}, Config{}, "does not take YU12"},
		{"config", &FakeDevice{}, Config{Codec: capture.MJPG}, "codec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Device, cfg.Input, cfg.Width, cfg.Height, cfg.FPS = "/dev/x", capture.YU12, tw, th, 25
			cfg.Open = func(string) (Device, error) { return tc.dev, nil }
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
			if tc.name != "config" {
				if closed, _ := tc.dev.Closed(); !closed {
					t.Error("the refused device was left open")
				}
			}
		})
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	devs := map[string]*FakeDevice{
		"video0":  {DevCaps: Caps{Driver: "vivid", Card: "vivid", DeviceCaps: 1 | capStreaming}},
		"video2":  {CaptureFormats: []capture.PixelFormat{capture.YU12}, OutputFormats: []capture.PixelFormat{FWHT}},
		"video10": {DevCaps: Caps{Driver: "bcm2835-codec", Card: "bcm2835-codec-decode", DeviceCaps: capVideoM2MMplan | capStreaming}, CaptureFormats: []capture.PixelFormat{capture.YU12}},
		"video11": {DevCaps: Caps{Driver: "bcm2835-codec", Card: "bcm2835-codec-encode", DeviceCaps: capVideoM2MMplan | capStreaming}, CaptureFormats: []capture.PixelFormat{capture.H264}},
		"video12": {CaptureFormats: []capture.PixelFormat{capture.H264}},
	}
	for n := range devs {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	old := Nodes
	Nodes = filepath.Join(dir, "video*")
	t.Cleanup(func() { Nodes = old })
	open := func(p string) (Device, error) { return devs[filepath.Base(p)], nil }
	p, caps, err := Find(capture.H264, capture.YU12, open)
	if err != nil || filepath.Base(p) != "video11" || caps.Card != "bcm2835-codec-encode" {
		t.Fatalf("Find: %s %v %v; want video11", p, caps, err)
	}
	for n, d := range devs {
		if closed, _ := d.Closed(); !closed && n <= "video11" {
			t.Errorf("Find left %s open", n)
		}
	}
	_, _, err = Find(capture.H264, capture.YUYV, func(p string) (Device, error) {
		return &FakeDevice{OutputFormats: []capture.PixelFormat{capture.YU12}}, nil
	})
	if !errors.Is(err, choose.ErrNoM2M) || !strings.Contains(err.Error(), "does not take YUYV") {
		t.Errorf("Find with no match: %v", err)
	}
}

// Through encode/choose, as main wires it.
func TestFinderThroughChoose(t *testing.T) {
	d := &FakeDevice{DevCaps: Caps{Driver: "bcm2835-codec", Card: "bcm2835-codec-encode", DeviceCaps: capVideoM2MMplan | capStreaming}}
	c := &choose.Chooser{FindM2M: func(req choose.Request) (encode.Encoder, string, error) {
		return finder(req, func(string) (Device, error) { return d, nil })
	}}
	e, ch, err := c.Choose(choose.Request{Codec: encode.H264, Mode: capture.Mode{Format: capture.YU12, Width: 640, Height: 480, FPS: 25}, M2MDevice: "/dev/video11"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if ch.Name != choose.M2M || !strings.Contains(ch.Reason, "bcm2835-codec-encode (bcm2835-codec) at /dev/video11, 768 kbit/s") ||
		!ch.Knobs.Has(encode.KnobBitrate|encode.KnobKeyframe|encode.KnobFramerate) {
		t.Errorf("choice %+v", ch)
	}
	if v, _ := d.ControlValue(cidBitrate); v != 750_000 {
		t.Errorf("bitrate control %d, want 768000 on the driver's 25 kbit/s steps (750000)", v)
	}
	if v, _ := d.ControlValue(cidH264Level); v != 8 {
		t.Errorf("level %d, want 8 (3.0) for 640x480 at 25 fps", v)
	}
}

func TestLayout(t *testing.T) {
	for _, f := range []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV} {
		d := &FakeDevice{StrideAlign: 32, HeightAlign: 16}
		e := newFake(t, d, Config{Input: f, Width: 36, Height: 20})
		l := e.layout
		wantSlice := 32 // 4:2:0: the chroma planes follow the padded luma plane
		if f == capture.YUYV {
			wantSlice = 20 // packed: padding lines at the end do not matter
		}
		if l.tight() || l.stride%32 != 0 || l.slice != wantSlice {
			t.Fatalf("%s: layout %+v, want stride aligned to 32, 32 lines", f, l)
		}
		src := frame(f, 36, 20, 7).Data
		dst := make([]byte, l.size)
		l.copyFrame(dst, src)
		// Read it back plane by plane.
		var back []byte
		switch f {
		case capture.YUYV:
			for r := range 20 {
				back = append(back, dst[r*l.stride:r*l.stride+72]...)
			}
		case capture.YU12:
			for r := range 20 {
				back = append(back, dst[r*l.stride:r*l.stride+36]...)
			}
			for p := range 2 {
				base := l.stride*l.slice + p*(l.stride/2)*(l.slice/2)
				for r := range 10 {
					back = append(back, dst[base+r*l.stride/2:base+r*l.stride/2+18]...)
				}
			}
		case capture.NV12:
			for r := range 20 {
				back = append(back, dst[r*l.stride:r*l.stride+36]...)
			}
			for r := range 10 {
				base := l.stride * l.slice
				back = append(back, dst[base+r*l.stride:base+r*l.stride+36]...)
			}
		}
		if !bytes.Equal(back, src) {
			t.Errorf("%s: the frame read back from the padded buffer differs", f)
		}
	}
}

func TestH264Level(t *testing.T) {
	for _, c := range []struct{ w, h, fps, want int }{
		{640, 480, 25, 8}, {640, 480, 60, 9}, {1280, 720, 30, 9}, {1280, 720, 60, 10}, {1920, 1080, 30, 11}, {1920, 1080, 60, 13}, {3840, 2160, 30, 15},
	} {
		if got := h264Level(c.w, c.h, c.fps); got != c.want {
			t.Errorf("level for %dx%d@%d = %d, want %d", c.w, c.h, c.fps, got, c.want)
		}
	}
}

// Steady state: no allocation per frame (the fake hands out one
// preallocated coded frame).
func TestEncodeDoesNotAllocate(t *testing.T) {
	coded := append(append([]byte(nil), fakeSPSPPS...), 0, 0, 0, 1, 0x65, 1, 2, 3)
	d := &FakeDevice{Produce: func(int, bool) []byte { return coded }}
	e := newFake(t, d, Config{})
	f := frame(capture.YU12, tw, th, 0)
	for range 10 {
		if _, err := e.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(200, func() {
		f.Timestamp += 40 * time.Millisecond
		if _, err := e.Encode(f); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkEncodeFake(b *testing.B) {
	coded := append(append([]byte(nil), fakeSPSPPS...), 0, 0, 0, 1, 0x65, 1, 2, 3)
	d := &FakeDevice{Produce: func(int, bool) []byte { return coded }}
	e, err := New(Config{Device: "/dev/fake", Input: capture.YU12, Width: 640, Height: 480, FPS: 25,
		Open: func(string) (Device, error) { return d, nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	f := frame(capture.YU12, 640, 480, 0)
	b.ReportAllocs()
	for b.Loop() {
		f.Timestamp += 40 * time.Millisecond
		if _, err := e.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}
