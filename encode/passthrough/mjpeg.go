package passthrough

import (
	"bytes"
	"fmt"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// MJPEG passes JPEG frames through after a minimal check: SOI at the
// start, an SOF before the first SOS, and an EOI; bytes after the last EOI
// (UVC cameras pad their buffers) are cut off. Deeper validation (tables,
// sizes RFC 2435 can carry) is the RTP packetizer's job.
//
// Its one knob is the frame rate: frames are dropped (going by their
// capture timestamps) to keep the rate at or below the target, which is
// harmless since every JPEG stands alone. Encode is for one goroutine;
// SetFramerate may be called from any.
//
// With a camera's JPEG quality control (NewMJPEGWith), quality is a knob
// too, and the camera re-encodes at the quality asked for.
type MJPEG struct {
	au  encode.AccessUnit
	dec encode.Decimator
	cam cameraKnobs // fixed at construction
}

var (
	_ encode.Encoder        = (*MJPEG)(nil)
	_ encode.KeyframeForcer = (*MJPEG)(nil)
	_ encode.Tunable        = (*MJPEG)(nil)
)

// NewMJPEG returns an MJPEG passthrough encoder.
func NewMJPEG() *MJPEG { return NewMJPEGWith(nil) }

// NewMJPEGWith returns an MJPEG passthrough encoder whose quality knob is
// the camera's JPEG quality control, where cam has one (nil: none).
func NewMJPEGWith(cam CameraControls) *MJPEG {
	e := &MJPEG{au: encode.AccessUnit{Codec: encode.MJPEG, Keyframe: true}, cam: newCameraKnobs(cam)}
	e.cam.knobs &= encode.KnobQuality // every JPEG is a keyframe; bitrate is not the camera's to set here
	return e
}

// Encode returns an access unit whose JPEG aliases f.Data, or (nil, nil)
// for a frame dropped to keep the frame rate set by SetFramerate.
func (e *MJPEG) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if f.Format != capture.MJPG && f.Format != capture.JPEG {
		return nil, fmt.Errorf("%w: %s, want MJPG or JPEG", ErrFormat, f.Format)
	}
	img, err := checkJPEG(f.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJPEG, err)
	}
	if !e.dec.Keep(f.Timestamp) {
		return nil, nil
	}
	e.au.JPEG = img
	e.au.Timestamp = f.Timestamp
	e.au.Sequence = f.Sequence
	return &e.au, nil
}

// checkJPEG returns b up to its last EOI after checking SOI, and walking
// the header segments by their lengths to an SOS preceded by an SOF.
func checkJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, fmt.Errorf("no SOI (ff d8) at the start")
	}
	end := bytes.LastIndex(b, []byte{0xff, 0xd9})
	if end < 2 {
		return nil, fmt.Errorf("no EOI (ff d9)")
	}
	b = b[:end+2]
	sof := false
	for i := 2; ; {
		if i >= len(b) || b[i] != 0xff {
			return nil, fmt.Errorf("no marker at offset %d", i)
		}
		for i < len(b) && b[i] == 0xff {
			i++
		}
		if i >= len(b) {
			return nil, fmt.Errorf("truncated header")
		}
		m := b[i]
		i++
		if m == 0x01 || (m >= 0xd0 && m <= 0xd7) {
			continue
		}
		if m == 0x00 || m == 0xd8 || m == 0xd9 {
			return nil, fmt.Errorf("marker ff %02x before SOS", m)
		}
		if i+2 > len(b) {
			return nil, fmt.Errorf("truncated header")
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return nil, fmt.Errorf("segment ff %02x has bad length %d", m, n)
		}
		switch {
		case m == 0xda:
			if !sof {
				return nil, fmt.Errorf("no SOF before SOS")
			}
			return b, nil
		case m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			sof = true
		}
		i += n
	}
}

// ForceKeyframe does nothing: every JPEG is a keyframe.
func (e *MJPEG) ForceKeyframe() {}

// Knobs reports the frame rate, and the quality where the camera has a
// JPEG quality control.
func (e *MJPEG) Knobs() encode.Knob { return encode.KnobFramerate | e.cam.knobs }

// SetBitrate returns encode.ErrNoKnob.
func (e *MJPEG) SetBitrate(int) error { return encode.ErrNoKnob }

// SetQuality sets the camera's JPEG quality control, q from 1 to 100
// mapped onto its range; encode.ErrNoKnob without one.
func (e *MJPEG) SetQuality(q int) error { return e.cam.setQuality(q) }

// SetFramerate drops frames from the next one on to keep at most fps
// frames per second.
func (e *MJPEG) SetFramerate(fps int) error { return e.dec.SetRate(fps) }

// Close does nothing; it exists to satisfy encode.Encoder.
func (e *MJPEG) Close() error { return nil }
