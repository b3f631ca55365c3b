package passthrough

import (
	"errors"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

func TestMJPEGFramerateKnob(t *testing.T) {
	e := NewMJPEG()
	if k := e.Knobs(); k != encode.KnobFramerate {
		t.Fatalf("knobs %v", k)
	}
	if err := e.SetFramerate(5); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i := range 100 {
		f := capture.NewFrame(testJPEG(nil), time.Duration(i)*40*time.Millisecond, uint32(i), capture.Mode{Format: capture.MJPG}, nil)
		au, err := e.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if au != nil {
			kept++
		}
	}
	if kept < 19 || kept > 21 {
		t.Fatalf("kept %d of 100 frames at 5 of 25 fps", kept)
	}
	for _, err := range []error{e.SetBitrate(1), e.SetQuality(50)} {
		if !errors.Is(err, encode.ErrNoKnob) {
			t.Errorf("got %v, want ErrNoKnob", err)
		}
	}
}

// H.264 passthrough has no knobs: dropping frames would break references.
func TestH264NoKnobs(t *testing.T) {
	e := NewH264()
	if k := e.Knobs(); k != 0 {
		t.Fatalf("knobs %v", k)
	}
	for _, err := range []error{e.SetBitrate(1), e.SetQuality(50), e.SetFramerate(5)} {
		if !errors.Is(err, encode.ErrNoKnob) {
			t.Errorf("got %v, want ErrNoKnob", err)
		}
	}
}
