// Package capture delivers camera frames, each stamped with the time the
// driver captured it. Everything downstream (encoders, RTP timestamps, RTCP
// sender reports) derives its notion of time from Frame.Timestamp.
package capture

import (
	"context"
	"fmt"
	"time"
)

// PixelFormat is a V4L2 FourCC code.
type PixelFormat uint32

// FourCC builds a PixelFormat from its four-character code.
func FourCC(s string) PixelFormat {
	var b [4]byte
	copy(b[:], s)
	return PixelFormat(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

// Pixel formats camagent negotiates.
var (
	YUYV = FourCC("YUYV") // packed 4:2:2
	NV12 = FourCC("NV12") // planar Y, interleaved CbCr, 4:2:0
	YU12 = FourCC("YU12") // I420: planar Y, Cb, Cr, 4:2:0
	MJPG = FourCC("MJPG") // motion JPEG, one JPEG per buffer
	JPEG = FourCC("JPEG")
	H264 = FourCC("H264") // H.264 Annex-B
)

func (p PixelFormat) String() string {
	b := []byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%08x", uint32(p))
		}
	}
	return string(b)
}

// Compressed reports whether frames of this format are already encoded.
func (p PixelFormat) Compressed() bool {
	return p == MJPG || p == JPEG || p == H264
}

// Mode is what a source negotiated: pixel format, size and frame rate.
type Mode struct {
	Format PixelFormat
	Width  int
	Height int
	FPS    int
}

func (m Mode) String() string {
	return fmt.Sprintf("%dx%d %s @%d fps", m.Width, m.Height, m.Format, m.FPS)
}

// Frame is one captured buffer. Data stays valid until Release is called;
// after that the driver may overwrite it.
type Frame struct {
	Data []byte
	// Timestamp is the driver's CLOCK_MONOTONIC capture time of the frame
	// (v4l2_buffer.timestamp), as a duration since boot.
	Timestamp time.Duration
	// Sequence is the driver's frame counter; a gap means the driver dropped frames.
	Sequence uint32
	Format   PixelFormat
	Width    int
	Height   int
	// Restart marks the first frame after the source reopened its device
	// (a camera unplugged and plugged back). Sequence starts again, and
	// predicted pictures from before are gone: an encoder should start
	// with a keyframe.
	Restart bool

	release func()
}

// NewFrame returns a frame whose Release calls release (which may be nil).
func NewFrame(data []byte, ts time.Duration, seq uint32, m Mode, release func()) *Frame {
	return &Frame{Data: data, Timestamp: ts, Sequence: seq, Format: m.Format, Width: m.Width, Height: m.Height, release: release}
}

// Release gives the buffer back to its source. It is safe to call more than once.
func (f *Frame) Release() {
	if r := f.release; r != nil {
		f.release = nil
		r()
	}
}

// Source is the seam between a camera (or the test pattern) and the rest of
// the agent.
type Source interface {
	// Mode reports the negotiated format, size and rate.
	Mode() Mode
	// Next blocks until the next frame is captured or ctx is done. The caller
	// must Release the frame.
	Next(ctx context.Context) (*Frame, error)
	// Close stops capture and frees the device.
	Close() error
}
