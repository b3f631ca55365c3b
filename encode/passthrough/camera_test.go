package passthrough

import (
	"errors"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/v4l2"
	"github.com/camagent/camagent/encode"
)

// V4L2 codec control types (videodev2.h): integer, button.
const (
	ctrlInteger = 1
	ctrlButton  = 4
)

// fakeCamera opens a v4l2.Source on a FakeDevice that gives f with ctrls.
func fakeCamera(t *testing.T, f capture.PixelFormat, ctrls []v4l2.ControlInfo) (*v4l2.Source, *v4l2.FakeDevice) {
	t.Helper()
	dev := &v4l2.FakeDevice{
		Catalog: v4l2.Catalog{{FormatDesc: v4l2.FormatDesc{Format: f}, Sizes: []v4l2.SizeModes{{
			FrameSize: v4l2.FrameSize{MinWidth: 640, MaxWidth: 640, MinHeight: 480, MaxHeight: 480},
			Intervals: []v4l2.FrameInterval{{Min: v4l2.Fract{Num: 1, Den: 30}, Max: v4l2.Fract{Num: 1, Den: 30}}},
		}}}},
		ControlList: ctrls,
	}
	src, err := v4l2.Open(v4l2.Config{Device: "fake", Format: f, Width: 640, Height: 480, FPS: 30,
		Open: func(string) (v4l2.Device, error) { return dev, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, dev
}

func TestH264CameraKnobs(t *testing.T) {
	src, dev := fakeCamera(t, capture.H264, []v4l2.ControlInfo{
		{ID: v4l2.CIDBitrate, Name: "Video Bitrate", Type: ctrlInteger, Min: 64_000, Max: 6_000_000, Step: 1000},
		{ID: v4l2.CIDForceKeyFrame, Name: "Force Key Frame", Type: ctrlButton},
	})
	e := NewH264With(src.CodecControls())
	if k := e.Knobs(); k != encode.KnobBitrate|encode.KnobKeyframe {
		t.Fatalf("knobs %v, want bitrate,keyframe", k)
	}
	if err := e.SetBitrate(10_000_000); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBitrate(750_500); err != nil {
		t.Fatal(err)
	}
	e.ForceKeyframe()
	for _, err := range []error{e.SetQuality(50), e.SetFramerate(5)} {
		if !errors.Is(err, encode.ErrNoKnob) {
			t.Errorf("got %v, want ErrNoKnob", err)
		}
	}
	want := []v4l2.ControlSetting{{Name: "Video Bitrate", Value: 6_000_000}, {Name: "Video Bitrate", Value: 750_000}, {Name: "Force Key Frame", Value: 1}}
	got := dev.SetControls()
	if len(got) != len(want) {
		t.Fatalf("camera controls set %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("camera controls set %v, want %v", got, want)
		}
	}
}

func TestMJPEGCameraQualityKnob(t *testing.T) {
	src, dev := fakeCamera(t, capture.MJPG, []v4l2.ControlInfo{
		{ID: v4l2.CIDJPEGCompressQ, Name: "Compression Quality", Type: ctrlInteger, Min: 1, Max: 100, Step: 1},
	})
	e := NewMJPEGWith(src.CodecControls())
	if k := e.Knobs(); k != encode.KnobFramerate|encode.KnobQuality {
		t.Fatalf("knobs %v, want framerate,quality", k)
	}
	if err := e.SetQuality(40); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBitrate(1); !errors.Is(err, encode.ErrNoKnob) {
		t.Errorf("SetBitrate: %v", err)
	}
	if got := dev.SetControls(); len(got) != 1 || got[0].Value != 40 {
		t.Fatalf("camera controls set %v", got)
	}
}

// A camera without codec controls leaves passthrough as it was.
func TestCameraWithoutCodecControls(t *testing.T) {
	src, dev := fakeCamera(t, capture.H264, []v4l2.ControlInfo{
		{ID: 0x00980900, Name: "Brightness", Type: ctrlInteger, Min: 0, Max: 255, Step: 1},
	})
	h := NewH264With(src.CodecControls())
	if k := h.Knobs(); k != 0 {
		t.Fatalf("H.264 knobs %v", k)
	}
	h.ForceKeyframe()
	m := NewMJPEGWith(src.CodecControls())
	if k := m.Knobs(); k != encode.KnobFramerate {
		t.Fatalf("MJPEG knobs %v", k)
	}
	for _, err := range []error{h.SetBitrate(1), h.SetQuality(50), m.SetQuality(50), m.SetBitrate(1)} {
		if !errors.Is(err, encode.ErrNoKnob) {
			t.Errorf("got %v, want ErrNoKnob", err)
		}
	}
	if got := dev.SetControls(); len(got) != 0 {
		t.Fatalf("camera controls set %v", got)
	}
}
