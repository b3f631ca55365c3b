package v4l2

import (
	"errors"
	"strings"
	"testing"

	"github.com/camagent/camagent/capture"
)

func TestChoose(t *testing.T) {
	stepwise := Catalog{{
		FormatDesc: FormatDesc{Format: capture.NV12},
		Sizes: []SizeModes{{
			FrameSize: FrameSize{MinWidth: 32, MaxWidth: 1920, StepWidth: 2, MinHeight: 32, MaxHeight: 1080, StepHeight: 2},
			Intervals: []FrameInterval{{Min: Fract{1, 60}, Max: Fract{1, 1}, Step: Fract{1, 1}}},
		}},
	}}
	cases := []struct {
		name string
		cat  Catalog
		req  Request
		want capture.PixelFormat
	}{
		{"mjpeg asked, camera gives it", webcamCatalog(), Request{Prefer: Preference("mjpeg"), Width: 1280, Height: 720, FPS: 15}, capture.MJPG},
		{"h264 asked, camera gives raw", webcamCatalog(), Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 30}, capture.YUYV},
		{"mjpeg asked, only raw at this rate", Catalog{format(capture.MJPG, size(640, 480, 15)), format(capture.YUYV, size(640, 480, 30))},
			Request{Prefer: Preference("mjpeg"), Width: 640, Height: 480, FPS: 30}, capture.YUYV},
		{"named format", vividCatalog(), Request{Format: capture.YU12, Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 25}, capture.YU12},
		{"raw order", Catalog{format(capture.YU12, size(640, 480, 25)), format(capture.NV12, size(640, 480, 25))},
			Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 25}, capture.NV12},
		{"stepwise size and interval range", stepwise, Request{Prefer: Preference("h264"), Width: 800, Height: 600, FPS: 24}, capture.NV12},
		{"29.97 counts as 30", Catalog{{FormatDesc: FormatDesc{Format: capture.YUYV}, Sizes: []SizeModes{{
			FrameSize: FrameSize{MinWidth: 640, MaxWidth: 640, MinHeight: 480, MaxHeight: 480},
			Intervals: []FrameInterval{{Min: Fract{1001, 30000}, Max: Fract{1001, 30000}}}}}}},
			Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 30}, capture.YUYV},
		{"driver lists no sizes", Catalog{{FormatDesc: FormatDesc{Format: capture.YUYV}}},
			Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 30}, capture.YUYV},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Choose(c.cat, c.req, "/dev/video0")
			if err != nil || got != c.want {
				t.Fatalf("Choose = %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestRefusalListsWhatTheCameraGives(t *testing.T) {
	cases := []struct {
		cat  Catalog
		req  Request
		want string
	}{
		{webcamCatalog(), Request{Prefer: Preference("mjpeg"), Width: 1920, Height: 1080, FPS: 30},
			"v4l2: mode not offered: /dev/video0 cannot capture 1920x1080 any of MJPG,JPEG,YUYV,NV12,YU12 @30 fps; " +
				"it gives 1280x720 MJPG @30,15 fps; 640x480 MJPG @30,15 fps; 640x480 YUYV @30 fps; 320x240 YUYV @30 fps"},
		{webcamCatalog(), Request{Format: capture.YUYV, Width: 1280, Height: 720, FPS: 30},
			"cannot capture 1280x720 YUYV @30 fps; it gives 1280x720 MJPG"},
		{vividCatalog(), Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 60},
			"it gives 1280x720 YUYV,NV12 @25,5 fps; 640x480 YUYV,NV12,YU12 @30,25,15,5 fps (and 1 format camagent does not take; camagent -list-devices shows all)"},
		{Catalog{format(capture.FourCC("RGB3"), size(640, 480, 30))}, Request{Prefer: Preference("h264"), Width: 640, Height: 480, FPS: 30},
			"it gives none of the formats camagent takes (H264,MJPG,JPEG,YUYV,NV12,YU12) (and 1 format "},
	}
	for _, c := range cases {
		_, err := Choose(c.cat, c.req, "/dev/video0")
		if !errors.Is(err, ErrMode) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant …%s…", err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("refusal spans lines: %q", err)
		}
	}
}

// Open stops with the refusal, and nothing is left open.
func TestOpenRefusesMode(t *testing.T) {
	r := newRig(t, webcamCatalog())
	_, err := Open(r.config(1920, 1080, 30))
	if !errors.Is(err, ErrMode) || !strings.Contains(err.Error(), "1280x720 MJPG @30,15 fps") {
		t.Fatalf("Open: %v", err)
	}
	if !r.dev(0).Closed() {
		t.Fatal("device left open after a refusal")
	}
}

// A driver that settles on something else than it listed is refused too.
func TestOpenChecksWhatTheDriverSettledOn(t *testing.T) {
	cases := []struct {
		name string
		dev  func() *FakeDevice
		want string
	}{
		{"rate", func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog(), FixedFPS: 30} }, "VIDIOC_S_PARM gave 30 fps"},
		{"padding", func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog(), Padding: 64} }, "pads lines to 1344 bytes"},
		{"size", func() *FakeDevice {
			return &FakeDevice{Catalog: Catalog{{FormatDesc: FormatDesc{Format: capture.YUYV}, Sizes: nil}}}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.newDev = c.dev
			s, err := Open(r.config(640, 480, 25))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if !errors.Is(err, ErrMode) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}

func TestDriverWithoutRateControlIsTakenAtItsWord(t *testing.T) {
	r := newRig(t, nil)
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog(), FixedFPS: -1} }
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode().FPS != 25 || !strings.Contains(r.log(), "cannot set the frame rate") {
		t.Fatalf("mode %v, log %s", s.Mode(), r.log())
	}
}
