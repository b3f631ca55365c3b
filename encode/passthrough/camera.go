package passthrough

import (
	"fmt"

	"github.com/camagent/camagent/encode"
)

// CameraControls are a camera's own encoder controls: when a passthrough
// encoder has them, its knobs are the camera's. v4l2.CodecControls
// implements it. The methods are called from any goroutine.
type CameraControls interface {
	HasBitrate() bool
	HasKeyframe() bool
	HasQuality() bool
	// SetBitrate and SetQuality (1..100) clamp to what the camera takes
	// and return the value set.
	SetBitrate(bps int) (int, error)
	SetQuality(q int) (int, error)
	ForceKeyframe() error
}

// cameraKnobs is the part of an encoder that drives camera controls.
type cameraKnobs struct {
	cam   CameraControls // nil: none
	knobs encode.Knob    // the camera's knobs among bitrate, quality, keyframe
}

func newCameraKnobs(cam CameraControls) cameraKnobs {
	k := cameraKnobs{cam: cam}
	if cam == nil {
		return k
	}
	if cam.HasBitrate() {
		k.knobs |= encode.KnobBitrate
	}
	if cam.HasQuality() {
		k.knobs |= encode.KnobQuality
	}
	if cam.HasKeyframe() {
		k.knobs |= encode.KnobKeyframe
	}
	return k
}

func (k *cameraKnobs) setBitrate(bps int) error {
	if !k.knobs.Has(encode.KnobBitrate) {
		return encode.ErrNoKnob
	}
	if _, err := k.cam.SetBitrate(bps); err != nil {
		return fmt.Errorf("passthrough: camera bitrate: %w", err)
	}
	return nil
}

func (k *cameraKnobs) setQuality(q int) error {
	if !k.knobs.Has(encode.KnobQuality) {
		return encode.ErrNoKnob
	}
	if _, err := k.cam.SetQuality(q); err != nil {
		return fmt.Errorf("passthrough: camera JPEG quality: %w", err)
	}
	return nil
}

// forceKeyframe asks the camera for a keyframe; an error is dropped (the
// camera's own GOP still brings one).
func (k *cameraKnobs) forceKeyframe() {
	if k.knobs.Has(encode.KnobKeyframe) {
		k.cam.ForceKeyframe()
	}
}
