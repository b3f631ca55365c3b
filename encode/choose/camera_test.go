package choose

import (
	"strings"
	"testing"

	"github.com/camagent/camagent/encode"
)

// stubCamera is a camera's codec controls, recording what is set.
type stubCamera struct {
	bitrate, quality, keyframe bool
	setBitrate                 []int
}

func (c *stubCamera) HasBitrate() bool  { return c.bitrate }
func (c *stubCamera) HasQuality() bool  { return c.quality }
func (c *stubCamera) HasKeyframe() bool { return c.keyframe }
func (c *stubCamera) SetBitrate(bps int) (int, error) {
	c.setBitrate = append(c.setBitrate, bps)
	return bps, nil
}
func (c *stubCamera) SetQuality(q int) (int, error) { return q, nil }
func (c *stubCamera) ForceKeyframe() error          { return nil }

// Passthrough turns the camera's own controls where it has them, and an
// H.264 camera's bitrate starts at the one asked for.
func TestPassthroughCameraKnobs(t *testing.T) {
	for _, c := range []struct {
		codec encode.Codec
		cam   *stubCamera
		want  encode.Knob
		why   string
	}{
		{encode.H264, &stubCamera{bitrate: true, keyframe: true, quality: true}, encode.KnobBitrate | encode.KnobKeyframe, "bitrate starts at 1500 kbit/s"},
		{encode.H264, &stubCamera{keyframe: true}, encode.KnobKeyframe, "the camera's keyframe controls"},
		{encode.H264, &stubCamera{}, 0, ""},
		{encode.MJPEG, &stubCamera{bitrate: true, keyframe: true, quality: true}, encode.KnobFramerate | encode.KnobQuality, "JPEG quality control"},
		{encode.MJPEG, &stubCamera{}, encode.KnobFramerate, ""},
	} {
		mode := h264
		if c.codec == encode.MJPEG {
			mode = mjpg
		}
		e, ch, err := Choose(Request{Codec: c.codec, Mode: mode, Bitrate: 1_500_000, Camera: c.cam})
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
		if ch.Name != Passthrough || ch.Knobs != c.want || !strings.Contains(ch.Reason, c.why) {
			t.Errorf("%s %+v: %+v, want knobs %v and a reason with %q", c.codec, *c.cam, ch, c.want, c.why)
		}
		if c.want.Has(encode.KnobBitrate) != (len(c.cam.setBitrate) == 1) {
			t.Errorf("%s %+v: bitrates set %v", c.codec, *c.cam, c.cam.setBitrate)
		}
	}
}
