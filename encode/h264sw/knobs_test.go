package h264sw

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Frames dropped for the frame-rate knob are dropped before encoding, so
// every P picture refers to the last encoded one: ffmpeg decodes exactly
// the kept frames, bit for bit. A keyframe request makes the very next
// encoded frame an IDR.
func TestKnobsDecode(t *testing.T) {
	const w, h = 64, 48
	enc, err := New(Config{Width: w, Height: h, FPS: 30, GOP: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if k := enc.Knobs(); k != encode.KnobKeyframe|encode.KnobFramerate {
		t.Fatalf("knobs %v", k)
	}
	if err := enc.SetFramerate(10); err != nil {
		t.Fatal(err)
	}
	var stream, want []byte
	kept := 0
	for i := range 60 {
		if i == 31 {
			enc.ForceKeyframe()
		}
		img := flatImage(w, h, i)
		au, err := enc.Encode(testFrame(img, capture.YU12, w, h, i))
		if err != nil {
			t.Fatal(err)
		}
		if au == nil {
			continue
		}
		if i >= 31 && kept >= 0 {
			if !au.Keyframe {
				t.Fatalf("frame %d, the first encoded after ForceKeyframe, is not an IDR", i)
			}
			kept = -1000 // check only the first one after the request
		}
		kept++
		stream = appendAnnexB(stream, au.NALUs)
		want = append(want, clampZeros(img)...)
	}
	got := decode(t, stream)
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes differ from the %d bytes of kept frames (first at %d)", len(got), len(want), firstDiff(got, want))
	}
	if n := len(want) / (w * h * 3 / 2); n < 19 || n > 21 {
		t.Fatalf("kept %d of 60 frames at 10 of 30 fps", n)
	}
}

func TestNoBitrateQualityKnobs(t *testing.T) {
	enc, err := New(Config{Width: 64, Height: 48, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(1e6); !errors.Is(err, encode.ErrNoKnob) {
		t.Errorf("SetBitrate = %v", err)
	}
	if err := enc.SetQuality(50); !errors.Is(err, encode.ErrNoKnob) {
		t.Errorf("SetQuality = %v", err)
	}
	if err := enc.SetFramerate(-3); !errors.Is(err, encode.ErrFramerate) {
		t.Errorf("SetFramerate(-3) = %v", err)
	}
}
