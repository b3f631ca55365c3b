package v4l2

import (
	"errors"
	"fmt"
	"math"
)

// Codec control IDs (linux/v4l2-controls.h): the MPEG class base
// V4L2_CID_CODEC_BASE (0x00990900) and the JPEG class base
// V4L2_CID_JPEG_CLASS_BASE (0x009d0900), plus each control's offset.
const (
	CIDBitrate        = 0x009909cf // V4L2_CID_MPEG_VIDEO_BITRATE, bit/s
	CIDGOPSize        = 0x009909cb // V4L2_CID_MPEG_VIDEO_GOP_SIZE, frames
	CIDH264IPeriod    = 0x00990a66 // V4L2_CID_MPEG_VIDEO_H264_I_PERIOD, frames
	CIDForceKeyFrame  = 0x009909e5 // V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, a button
	CIDJPEGCompressQ  = 0x009d0903 // V4L2_CID_JPEG_COMPRESSION_QUALITY, 1..100 by the spec
	maxCodecCtlValues = 4          // bitrate, GOP, I period, quality: remembered for a reopen
)

// ErrNoControl: the camera has no such codec control, or it is gone.
var ErrNoControl = errors.New("v4l2: the camera has no such control")

// codecControls is what the camera offered of the codec controls, found
// at the first open.
type codecControls struct {
	bitrate, gop, iperiod, forceKey, quality ControlInfo
}

// find picks the codec controls out of the device's controls; a control
// that is read-only, or of a type S_CTRL cannot set, counts as absent.
func findCodecControls(infos []ControlInfo) codecControls {
	var c codecControls
	for _, in := range infos {
		if in.Flags&ctrlFlagReadOnly != 0 {
			continue
		}
		want := uint32(ctrlTypeInteger)
		var dst *ControlInfo
		switch in.ID {
		case CIDBitrate:
			dst = &c.bitrate
		case CIDGOPSize:
			dst = &c.gop
		case CIDH264IPeriod:
			dst = &c.iperiod
		case CIDJPEGCompressQ:
			dst = &c.quality
		case CIDForceKeyFrame:
			dst, want = &c.forceKey, ctrlTypeButton
		default:
			continue
		}
		if in.Type == want && (want == ctrlTypeButton || in.Min <= in.Max) {
			*dst = in
		}
	}
	return c
}

// CodecControls are the camera's own encoder controls, for an encoder
// that passes the camera's H.264 or JPEG through: the knobs it turns are
// the camera's. A zero CodecControls (or one from a camera without them)
// has none: the Has methods report false and the setters ErrNoControl.
//
// The setters are safe from any goroutine while the Source streams: they
// take the Source's device lock, as a frame's Release does. A value is
// clamped to the control's range and step; the values set are set again
// when the camera is reopened after a loss.
type CodecControls struct {
	src *Source
	c   codecControls
}

// CodecControls returns the codec controls the camera offered when it was
// opened.
func (s *Source) CodecControls() CodecControls { return CodecControls{src: s, c: s.codec} }

// HasBitrate reports whether the camera has V4L2_CID_MPEG_VIDEO_BITRATE.
func (c CodecControls) HasBitrate() bool { return c.c.bitrate.ID != 0 }

// HasGOP reports whether the camera has an I-frame period control
// (H264_I_PERIOD or GOP_SIZE).
func (c CodecControls) HasGOP() bool { return c.c.iperiod.ID != 0 || c.c.gop.ID != 0 }

// HasKeyframe reports whether the camera has V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME.
func (c CodecControls) HasKeyframe() bool { return c.c.forceKey.ID != 0 }

// HasQuality reports whether the camera has V4L2_CID_JPEG_COMPRESSION_QUALITY.
func (c CodecControls) HasQuality() bool { return c.c.quality.ID != 0 }

// SetBitrate sets the camera's target bitrate in bit/s and returns the
// value set (after clamping).
func (c CodecControls) SetBitrate(bps int) (int, error) {
	return c.set(c.c.bitrate, int64(bps))
}

// SetGOP sets the frames from one I-frame to the next (H264_I_PERIOD,
// else GOP_SIZE) and returns the value set.
func (c CodecControls) SetGOP(frames int) (int, error) {
	in := c.c.iperiod
	if in.ID == 0 {
		in = c.c.gop
	}
	return c.set(in, int64(frames))
}

// SetQuality sets the camera's JPEG quality, q from 1 (worst) to 100
// (best) mapped onto the control's range, and returns the control's value.
func (c CodecControls) SetQuality(q int) (int, error) {
	in := c.c.quality
	q = min(max(q, 1), 100)
	v := in.Min + (in.Max-in.Min)*int64(q-1)/99
	return c.set(in, v)
}

// ForceKeyframe presses the camera's FORCE_KEY_FRAME button.
func (c CodecControls) ForceKeyframe() error {
	if c.c.forceKey.ID == 0 || c.src == nil {
		return ErrNoControl
	}
	return c.src.setCodecControl(c.c.forceKey.ID, 1, false)
}

func (c CodecControls) set(in ControlInfo, v int64) (int, error) {
	if in.ID == 0 || c.src == nil {
		return 0, ErrNoControl
	}
	v = clampControl(in, v)
	return int(v), c.src.setCodecControl(in.ID, int32(v), true)
}

// clampControl brings v into the control's range, on its step.
func clampControl(in ControlInfo, v int64) int64 {
	lo, hi := max(in.Min, math.MinInt32), min(in.Max, math.MaxInt32)
	v = min(max(v, lo), hi)
	if in.Step > 1 && in.Step < math.MaxInt32 {
		step := int64(in.Step)
		v = lo + (v-lo)/step*step
	}
	return v
}

// codecValue is a codec control value to set again after a reopen.
type codecValue struct {
	id    uint32
	value int32
}

// setCodecControl sets a control on the current session's device under
// s.mu (a poll may run at the same time, as with Queue). keep remembers
// the value for the next session.
func (s *Source) setCodecControl(id uint32, v int32, keep bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if keep {
		i := 0
		for i < len(s.codecVals) && s.codecVals[i].id != id {
			i++
		}
		if i == len(s.codecVals) && i < maxCodecCtlValues {
			s.codecVals = append(s.codecVals, codecValue{id: id})
		}
		if i < len(s.codecVals) {
			s.codecVals[i].value = v
		}
	}
	sess := s.sess
	if s.closed || sess == nil || sess.dead {
		if keep {
			return nil // set on the reopened camera
		}
		return fmt.Errorf("%w: the camera is gone", ErrNoControl)
	}
	if err := sess.dev.SetControl(id, v); err != nil {
		return fmt.Errorf("v4l2: %s: VIDIOC_S_CTRL 0x%08x=%d: %w", s.cfg.Device, id, v, err)
	}
	return nil
}

// restoreCodecControls sets the remembered codec values on a reopened
// camera. Callers hold s.mu.
func (s *Source) restoreCodecControls(sess *session) {
	for _, cv := range s.codecVals {
		if err := sess.dev.SetControl(cv.id, cv.value); err != nil {
			s.log.Warn("could not set a codec control again after a reopen", "device", s.cfg.Device,
				"control", fmt.Sprintf("0x%08x", cv.id), "value", cv.value, "err", err)
		}
	}
}
