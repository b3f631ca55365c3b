package choose

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/encode/h264sw"
	"github.com/camagent/camagent/encode/openh264"
)

// fakeEnc stands for a machine-dependent encoder.
type fakeEnc struct {
	encode.Encoder
	name string
}

func (fakeEnc) Knobs() encode.Knob {
	return encode.KnobBitrate | encode.KnobFramerate | encode.KnobKeyframe
}
func (fakeEnc) SetBitrate(int) error   { return nil }
func (fakeEnc) SetFramerate(int) error { return nil }
func (fakeEnc) SetQuality(int) error   { return encode.ErrNoKnob }
func (fakeEnc) ForceKeyframe()         {}
func (fakeEnc) Close() error           { return nil }

func chooser(m2m, oh264 bool) *Chooser {
	c := &Chooser{
		FindM2M: func(Request) (encode.Encoder, string, error) {
			return nil, "", fmt.Errorf("%w: no device with an H.264 CAPTURE format", ErrNoM2M)
		},
		NewOpenH264: func(Request) (encode.Encoder, string, error) {
			return nil, "", fmt.Errorf("%w (fake)", openh264.ErrNoLibrary)
		},
	}
	if m2m {
		c.FindM2M = func(Request) (encode.Encoder, string, error) {
			return fakeEnc{name: M2M}, "bcm2835-codec at /dev/video11", nil
		}
	}
	if oh264 {
		c.NewOpenH264 = func(Request) (encode.Encoder, string, error) { return fakeEnc{name: OpenH264}, "OpenH264 2.3.1", nil }
	}
	return c
}

var (
	raw    = capture.Mode{Format: capture.YUYV, Width: 640, Height: 480, FPS: 25}
	nv12   = capture.Mode{Format: capture.NV12, Width: 640, Height: 480, FPS: 25}
	h264   = capture.Mode{Format: capture.H264, Width: 1280, Height: 720, FPS: 30}
	mjpg   = capture.Mode{Format: capture.MJPG, Width: 1280, Height: 720, FPS: 30}
	badRaw = capture.Mode{Format: capture.YU12, Width: 7, Height: 480, FPS: 25}
)

func TestChoose(t *testing.T) {
	cases := []struct {
		name      string
		encoder   string
		codec     encode.Codec
		mode      capture.Mode
		m2m, oh   bool
		want      string // chosen encoder; "" = error
		wantErr   error
		reasonHas []string
	}{
		// auto
		{"auto h264 camera", "", encode.H264, h264, true, true, Passthrough, nil, []string{"the source gives h264"}},
		{"auto mjpeg camera", "auto", encode.MJPEG, mjpg, true, true, Passthrough, nil, []string{"the source gives mjpeg"}},
		{"auto raw h264 m2m", "", encode.H264, raw, true, true, M2M, nil, []string{"raw YUYV", "bcm2835-codec"}},
		{"auto raw h264 no m2m", "", encode.H264, nv12, false, true, OpenH264, nil, []string{"raw NV12", "OpenH264 2.3.1", "no V4L2 M2M"}},
		{"auto raw h264 nothing", "", encode.H264, raw, false, false, H264SW, nil, []string{"no V4L2 M2M", "libopenh264.so.7 not found", "apt-get install libopenh264-7", "pure-Go"}},
		{"auto raw mjpeg", "", encode.MJPEG, raw, true, true, JPEG, nil, []string{"raw YUYV", "JPEG in software"}},
		{"auto mjpeg camera h264 wanted", "", encode.H264, mjpg, true, true, "", ErrUnavailable, []string{"does not transcode", "ask for mjpeg"}},
		{"auto h264 camera mjpeg wanted", "", encode.MJPEG, h264, true, true, "", ErrUnavailable, []string{"does not transcode"}},
		{"auto raw bad size", "", encode.MJPEG, badRaw, true, true, "", ErrUnavailable, []string{"jpeg", "7x480"}},
		// named
		{"passthrough h264", "passthrough", encode.H264, h264, false, false, Passthrough, nil, []string{"asked for"}},
		{"passthrough raw", "passthrough", encode.H264, raw, true, true, "", ErrUnavailable, []string{"raw YUYV"}},
		{"m2m found", "m2m", encode.H264, raw, true, false, M2M, nil, []string{"bcm2835-codec"}},
		{"m2m missing", "M2M", encode.H264, raw, false, true, "", ErrNoM2M, []string{"m2m: no V4L2 M2M"}},
		{"m2m mjpeg", "m2m", encode.MJPEG, raw, true, true, "", ErrUnavailable, []string{"encodes H.264"}},
		{"m2m compressed source", "m2m", encode.H264, h264, true, true, "", ErrUnavailable, []string{"raw frames"}},
		{"openh264 ok", "openh264", encode.H264, raw, true, true, OpenH264, nil, []string{"OpenH264 2.3.1"}},
		{"openh264 missing", "openh264", encode.H264, raw, true, false, "", openh264.ErrNoLibrary, []string{"apt-get install libopenh264-7"}},
		{"jpeg", "jpeg", encode.MJPEG, nv12, false, false, JPEG, nil, nil},
		{"jpeg for h264", "jpeg", encode.H264, raw, false, false, "", ErrUnavailable, []string{"set the codec to mjpeg"}},
		{"h264sw", " h264sw ", encode.H264, raw, true, true, H264SW, nil, nil},
		{"h264sw bad size", "h264sw", encode.H264, badRaw, true, true, "", h264sw.ErrConfig, nil},
		{"unknown", "x264", encode.H264, raw, true, true, "", ErrName, []string{"auto, passthrough, m2m, openh264, jpeg, h264sw"}},
		{"no codec", "", 0, raw, true, true, "", ErrUnavailable, []string{"codec"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ch, err := chooser(c.m2m, c.oh).Choose(Request{Encoder: c.encoder, Codec: c.codec, Mode: c.mode})
			text := ch.Reason
			if c.want == "" {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				text = err.Error()
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				if ch.Name != c.want {
					t.Fatalf("chose %s (%s), want %s", ch.Name, ch.Reason, c.want)
				}
				if f, ok := e.(fakeEnc); ok && f.name != c.want {
					t.Fatalf("choice says %s, encoder is %s", ch.Name, f.name)
				}
				if tu, ok := e.(encode.Tunable); ok && ch.Knobs != tu.Knobs() {
					t.Fatalf("choice knobs %v, encoder %v", ch.Knobs, tu.Knobs())
				}
			}
			for _, s := range c.reasonHas {
				if !strings.Contains(text, s) {
					t.Errorf("%q lacks %q", text, s)
				}
			}
			t.Log(text)
		})
	}
}

// The knobs each real encoder reports through the choice.
func TestChoiceKnobs(t *testing.T) {
	for _, c := range []struct {
		name  string
		codec encode.Codec
		mode  capture.Mode
		want  encode.Knob
	}{
		{JPEG, encode.MJPEG, raw, encode.KnobQuality | encode.KnobFramerate},
		{H264SW, encode.H264, raw, encode.KnobKeyframe | encode.KnobFramerate},
		{Passthrough, encode.H264, h264, 0},
		{Passthrough, encode.MJPEG, mjpg, encode.KnobFramerate},
	} {
		e, ch, err := Choose(Request{Encoder: c.name, Codec: c.codec, Mode: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
		if ch.Knobs != c.want {
			t.Errorf("%s %s: knobs %v, want %v", c.name, c.codec, ch.Knobs, c.want)
		}
	}
}

// With the default chooser, auto for raw H.264 gets OpenH264 where the
// library loads (make test-openh264), and the pure-Go encoder otherwise,
// with the reason.
func TestDefaultAutoH264(t *testing.T) {
	e, ch, err := Choose(Request{Codec: encode.H264, Mode: raw})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("%s: %s", ch.Name, ch.Reason)
	v, lerr := openh264.Load()
	switch {
	case lerr == nil:
		if ch.Name != OpenH264 || !strings.Contains(ch.Reason, "OpenH264 "+v) {
			t.Fatalf("library %s loads, chose %s: %s", v, ch.Name, ch.Reason)
		}
		if ch.Knobs != encode.KnobBitrate|encode.KnobFramerate|encode.KnobKeyframe {
			t.Fatalf("knobs %v", ch.Knobs)
		}
	case errors.Is(lerr, openh264.ErrNoLibrary) && os.Getenv("CI") == "true":
		t.Fatal(lerr)
	default:
		if ch.Name != H264SW || !strings.Contains(ch.Reason, lerr.Error()) {
			t.Fatalf("library unavailable (%v), chose %s: %s", lerr, ch.Name, ch.Reason)
		}
	}
}
