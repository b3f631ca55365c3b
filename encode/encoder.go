// Package encode turns captured frames into access units: H.264 NAL units or
// one JPEG image per frame, keeping each frame's capture timestamp.
package encode

import (
	"errors"
	"time"

	"github.com/camagent/camagent/capture"
)

// Codec is the compressed format of an access unit.
type Codec int

// Codecs camagent streams.
const (
	H264 Codec = iota + 1
	MJPEG
)

func (c Codec) String() string {
	switch c {
	case H264:
		return "h264"
	case MJPEG:
		return "mjpeg"
	}
	return "unknown"
}

// AccessUnit is one encoded picture. Its slices are owned by the encoder and
// stay valid only until the next call to Encode.
type AccessUnit struct {
	Codec Codec
	// NALUs holds the H.264 NAL units of the picture, without start codes.
	NALUs [][]byte
	// JPEG holds one complete JPEG image (SOI to EOI).
	JPEG []byte
	// Timestamp is the capture time of the source frame (CLOCK_MONOTONIC).
	Timestamp time.Duration
	// Sequence is the source frame's sequence number.
	Sequence uint32
	// Keyframe is true for an H.264 IDR picture, and for every JPEG.
	Keyframe bool
}

// Encoder turns frames into access units. Encode may return (nil, nil) when
// it drops a frame on purpose (for example to lower the frame rate). The
// frame is not retained after Encode returns.
type Encoder interface {
	Encode(f *capture.Frame) (*AccessUnit, error)
	Close() error
}

// KeyframeForcer is implemented by encoders that can produce a keyframe on
// request (RTCP PLI/FIR, a new viewer).
type KeyframeForcer interface {
	ForceKeyframe()
}

// Knob is one live control an encoder may have.
type Knob uint8

// The knobs rate adaptation can turn.
const (
	KnobBitrate   Knob = 1 << iota // SetBitrate: target bits per second
	KnobFramerate                  // SetFramerate: frames per second (dropping frames is fine)
	KnobQuality                    // SetQuality: 1 (worst) to 100 (best), e.g. JPEG quality
	KnobKeyframe                   // ForceKeyframe
)

// Has reports whether k includes all of the knobs in want.
func (k Knob) Has(want Knob) bool { return k&want == want }

func (k Knob) String() string {
	var s string
	for _, n := range []struct {
		k    Knob
		name string
	}{{KnobBitrate, "bitrate"}, {KnobFramerate, "framerate"}, {KnobQuality, "quality"}, {KnobKeyframe, "keyframe"}} {
		if k.Has(n.k) {
			if s != "" {
				s += ","
			}
			s += n.name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// ErrNoKnob is returned by a setter for a knob the encoder does not have.
var ErrNoKnob = errors.New("encode: the encoder has no such knob")

// Tunable is an encoder whose quality can be changed while it streams. Knobs
// says which setters really work; the others return ErrNoKnob. Setters are
// safe to call from any goroutine and take effect from the next frame.
type Tunable interface {
	Knobs() Knob
	SetBitrate(bps int) error
	SetFramerate(fps int) error
	SetQuality(q int) error
	ForceKeyframe()
}
