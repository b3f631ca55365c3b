package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/v4l2"
)

func TestWriteNode(t *testing.T) {
	vga := v4l2.SizeModes{
		FrameSize: v4l2.FrameSize{MinWidth: 640, MaxWidth: 640, MinHeight: 480, MaxHeight: 480},
		Intervals: []v4l2.FrameInterval{
			{Min: v4l2.Fract{Num: 1, Den: 30}, Max: v4l2.Fract{Num: 1, Den: 30}},
			{Min: v4l2.Fract{Num: 2, Den: 25}, Max: v4l2.Fract{Num: 2, Den: 25}},
		},
	}
	cases := []struct {
		node v4l2.NodeInfo
		want []string
	}{
		{v4l2.NodeInfo{Path: "/dev/video0", Card: "HD Webcam", Driver: "uvcvideo", BusInfo: "usb-1.2", Caps: 0x04200001, Capture: true,
			Catalog: v4l2.Catalog{
				{FormatDesc: v4l2.FormatDesc{Format: capture.MJPG, Description: "Motion-JPEG"}, Sizes: []v4l2.SizeModes{vga}},
				{FormatDesc: v4l2.FormatDesc{Format: capture.FourCC("RGB3"), Description: "24-bit RGB 8-8-8"}, Sizes: []v4l2.SizeModes{vga}},
			}},
			[]string{
				"/dev/video0: HD Webcam (driver uvcvideo, bus usb-1.2)\n",
				"\tcapabilities: video capture, streaming\n",
				"\tvideo capture: CAMAGENT_DEVICE=/dev/video0\n",
				"\t[0]: 'MJPG' (Motion-JPEG)\n\t\t640x480 @30,12.5 fps\n",
				"\tformats camagent does not take: 'RGB3' (24-bit RGB 8-8-8)\n",
			}},
		{v4l2.NodeInfo{Path: "/dev/video1", Card: "HD Webcam", Driver: "uvcvideo", BusInfo: "usb-1.2", Caps: 0x04800000},
			[]string{"\tmetadata capture: not a video capture device; camagent cannot use it\n"}},
		{v4l2.NodeInfo{Path: "/dev/video11", Card: "bcm2835-codec-encode", Driver: "bcm2835-codec", Caps: 0x04204000},
			[]string{"\tmemory-to-memory codec/converter: not a video capture device"}},
		{v4l2.NodeInfo{Path: "/dev/video5", Err: errors.New("v4l2: open /dev/video5: permission denied")},
			[]string{"/dev/video5: cannot read: v4l2: open /dev/video5: permission denied\n"}},
	}
	for _, c := range cases {
		var b strings.Builder
		writeNode(&b, c.node)
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", c.node.Path, w, b.String())
			}
		}
	}
}
