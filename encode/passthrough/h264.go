// Package passthrough is the encoder for sources that already deliver
// H.264 or MJPEG (the file source, UVC cameras that encode): it does not
// re-encode, it splits and checks what the source gives and shapes it into
// access units.
package passthrough

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Errors returned by Encode and SPSInfo.
var (
	ErrFormat    = errors.New("passthrough: unsupported frame format")
	ErrBitstream = errors.New("passthrough: malformed H.264 frame")
	ErrJPEG      = errors.New("passthrough: malformed JPEG frame")
	ErrNoSPS     = errors.New("passthrough: no SPS seen yet")
)

// SPSInfo is what the cached SPS says about the stream.
type SPSInfo struct {
	Width, Height int
	// ProfileIdc, Constraints (the constraint_set flags byte) and LevelIdc
	// are the three bytes of the SDP profile-level-id.
	ProfileIdc, Constraints, LevelIdc uint8
}

// H264 passes H.264 Annex-B frames through. For each frame it
//   - splits the Annex-B bytes into NAL units and drops access unit
//     delimiters and filler data;
//   - caches the latest SPS and PPS (copies) and puts them in every IDR
//     access unit that lacks them, for cameras that send them only once;
//   - drops frames until the first IDR with known parameter sets (counted
//     by Dropped), so a stream always starts decodable.
//
// A frame holding only parameter sets or SEI (some V4L2 encoders send the
// headers in a buffer of their own) updates the cache and yields no access
// unit. Only one PPS is cached: a stream that switches between several PPS
// ids keeps working only if it repeats them itself.
//
// Its knobs are the camera's (NewH264With): the bitrate and keyframe
// requests, where the camera has those controls. Without them it has none:
// the camera or file decides bitrate, GOP and quality, and dropping a frame
// would break the pictures that refer to it.
//
// Encode is for one goroutine. ParameterSets, SPSInfo and Dropped may be
// called from any goroutine.
type H264 struct {
	nalus   [][]byte
	au      encode.AccessUnit
	started bool
	dropped atomic.Uint64

	mu      sync.Mutex // guards writes of the fields below, and reads by other goroutines
	sps     []byte
	pps     []byte
	info    SPSInfo
	infoErr error

	cam cameraKnobs // fixed at construction
}

var (
	_ encode.Encoder        = (*H264)(nil)
	_ encode.KeyframeForcer = (*H264)(nil)
	_ encode.Tunable        = (*H264)(nil)
)

// NewH264 returns an H.264 passthrough encoder.
func NewH264() *H264 { return NewH264With(nil) }

// NewH264With returns an H.264 passthrough encoder whose bitrate and
// keyframe knobs are the camera's controls, where cam has them (nil: none).
func NewH264With(cam CameraControls) *H264 {
	e := &H264{au: encode.AccessUnit{Codec: encode.H264}, cam: newCameraKnobs(cam)}
	e.cam.knobs &^= encode.KnobQuality
	return e
}

// NAL unit types handled here (H.264 Table 7-1).
const (
	nalNonIDR = byte(h264.NALUTypeNonIDR)
	nalPartC  = byte(h264.NALUTypeDataPartitionC)
	nalIDR    = byte(h264.NALUTypeIDR)
	nalSPS    = byte(h264.NALUTypeSPS)
	nalPPS    = byte(h264.NALUTypePPS)
	nalAUD    = byte(h264.NALUTypeAccessUnitDelimiter)
	nalFiller = byte(h264.NALUTypeFillerData)
)

// Encode turns one Annex-B access unit into an encode.AccessUnit whose
// NAL units alias f.Data (and the cached parameter sets). It returns
// (nil, nil) for a frame dropped before the first IDR and for a frame
// without a picture.
func (e *H264) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if f.Format != capture.H264 {
		return nil, fmt.Errorf("%w: %s, want H264", ErrFormat, f.Format)
	}
	var err error
	e.nalus, err = splitAnnexB(e.nalus[:0], f.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBitstream, err)
	}
	// Parameter sets count for an IDR only when they come before its
	// first slice.
	firstIDR, spsAt, ppsBefore, picture := -1, -1, false, false
	for i, n := range e.nalus {
		switch t := n[0] & 0x1f; {
		case t == nalIDR:
			if firstIDR < 0 {
				firstIDR = i
			}
			picture = true
		case t >= nalNonIDR && t <= nalPartC:
			picture = true
		case t == nalSPS:
			if firstIDR < 0 {
				spsAt = i
			}
			if !bytes.Equal(n, e.sps) {
				e.setSPS(n)
			}
		case t == nalPPS:
			ppsBefore = ppsBefore || firstIDR < 0
			if !bytes.Equal(n, e.pps) {
				e.setPPS(n)
			}
		}
	}
	if !picture {
		return nil, nil
	}
	idr := firstIDR >= 0
	if !e.started {
		if !idr || e.sps == nil || e.pps == nil {
			e.dropped.Add(1)
			return nil, nil
		}
		e.started = true
	}

	// An IDR access unit lacking parameter sets gets the cached ones: both
	// first, or the PPS right after the access unit's own SPS.
	out := e.au.NALUs[:0]
	needPPS := idr && !ppsBefore
	if idr && spsAt < 0 {
		out = append(out, e.sps)
		if needPPS {
			out = append(out, e.pps)
			needPPS = false
		}
	}
	for i, n := range e.nalus {
		if t := n[0] & 0x1f; t != nalAUD && t != nalFiller {
			out = append(out, n)
		}
		if needPPS && i == spsAt {
			out = append(out, e.pps)
			needPPS = false
		}
	}
	e.au.NALUs = out
	e.au.Timestamp = f.Timestamp
	e.au.Sequence = f.Sequence
	e.au.Keyframe = idr
	return &e.au, nil
}

// setSPS caches a copy of sps and what it says. An SPS that mediacommon
// cannot parse is still cached and passed on; SPSInfo reports the error.
func (e *H264) setSPS(n []byte) {
	var sps h264.SPS
	err := sps.Unmarshal(n)
	info := SPSInfo{}
	if err == nil {
		info = SPSInfo{Width: sps.Width(), Height: sps.Height()}
	} else {
		err = fmt.Errorf("passthrough: unparsable SPS: %w", err)
	}
	if len(n) >= 4 {
		info.ProfileIdc, info.Constraints, info.LevelIdc = n[1], n[2], n[3]
	}
	c := bytes.Clone(n)
	e.mu.Lock()
	e.sps, e.info, e.infoErr = c, info, err
	e.mu.Unlock()
}

func (e *H264) setPPS(n []byte) {
	c := bytes.Clone(n)
	e.mu.Lock()
	e.pps = c
	e.mu.Unlock()
}

// ParameterSets returns the cached SPS and PPS NAL units (without start
// codes), nil until seen. The slices are never modified: a new parameter
// set replaces them.
func (e *H264) ParameterSets() (sps, pps []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sps, e.pps
}

// SPSInfo reports the size, profile and level from the cached SPS:
// ErrNoSPS before one is seen, or the error parsing it (the profile and
// level bytes are filled in all the same).
func (e *H264) SPSInfo() (SPSInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sps == nil {
		return SPSInfo{}, ErrNoSPS
	}
	return e.info, e.infoErr
}

// Dropped counts the frames dropped while waiting for the first IDR with
// known SPS and PPS.
func (e *H264) Dropped() uint64 { return e.dropped.Load() }

// ForceKeyframe presses the camera's FORCE_KEY_FRAME control when it has
// one; otherwise it does nothing: a file or a camera that encodes decides
// its own GOP.
func (e *H264) ForceKeyframe() { e.cam.forceKeyframe() }

// Knobs reports the camera's bitrate and keyframe controls, if any.
func (e *H264) Knobs() encode.Knob { return e.cam.knobs }

// SetBitrate sets the camera's bitrate control (clamped to its range);
// encode.ErrNoKnob without one.
func (e *H264) SetBitrate(bps int) error { return e.cam.setBitrate(bps) }

// SetFramerate returns encode.ErrNoKnob: dropping a frame would break the
// pictures predicted from it.
func (e *H264) SetFramerate(int) error { return encode.ErrNoKnob }

// SetQuality returns encode.ErrNoKnob.
func (e *H264) SetQuality(int) error { return encode.ErrNoKnob }

// Close does nothing; it exists to satisfy encode.Encoder.
func (e *H264) Close() error { return nil }
