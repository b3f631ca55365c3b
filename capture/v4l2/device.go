package v4l2

import (
	"errors"
	"time"

	"github.com/camagent/camagent/capture"
)

// Device is the seam between Source and a V4L2 capture node: the handful of
// operations Source needs, in the order it needs them. OpenDevice gives the
// real one; FakeDevice stands in for it in tests.
//
// A Device is used from one goroutine at a time, except that Queue and
// SetControl may be called concurrently with Wait (a consumer releasing a
// frame, or an encoder turning a camera codec control, while Next polls).
type Device interface {
	// Formats lists the pixel formats the device captures.
	Formats() ([]FormatDesc, error)
	// FrameSizes lists the sizes of format f; nil when the driver does not say.
	FrameSizes(f capture.PixelFormat) ([]FrameSize, error)
	// FrameIntervals lists the frame intervals of f at w×h; nil when the
	// driver does not say.
	FrameIntervals(f capture.PixelFormat, w, h int) ([]FrameInterval, error)
	// SetFormat asks for f at w×h (VIDIOC_S_FMT) and returns what the
	// driver chose.
	SetFormat(f capture.PixelFormat, w, h int) (PixFormat, error)
	// SetFrameRate asks for fps frames per second (VIDIOC_S_PARM) and
	// returns the interval the driver chose; a zero FrameInterval when the
	// driver cannot set its rate.
	SetFrameRate(fps int) (Fract, error)
	// Controls lists the user-settable controls.
	Controls() ([]ControlInfo, error)
	// SetControl sets one control (VIDIOC_S_CTRL).
	SetControl(id uint32, value int32) error
	// Start allocates and maps up to n buffers, queues them all and starts
	// streaming. It returns the buffers' memory, indexed like Buffer.Index.
	Start(n int) ([][]byte, error)
	// Wait blocks until a buffer can be dequeued (nil), timeout passes
	// (ErrTimeout), or the device fails (ErrGone or an errno).
	Wait(timeout time.Duration) error
	// Dequeue takes a filled buffer (VIDIOC_DQBUF) into b; ErrNotReady when
	// none is.
	Dequeue(b *Buffer) error
	// Queue gives buffer i back to the driver (VIDIOC_QBUF).
	Queue(i int) error
	// Close stops streaming, unmaps the buffers and closes the device.
	Close() error
}

// Errors a Device returns besides errnos (unix.Errno values).
var (
	ErrTimeout  = errors.New("v4l2: timed out waiting for a frame")
	ErrNotReady = errors.New("v4l2: no frame ready")
	// ErrGone: poll reported POLLERR/POLLHUP, as after an unplug.
	ErrGone = errors.New("v4l2: device reported an error (unplugged?)")
)

// FormatDesc is one pixel format the device offers (VIDIOC_ENUM_FMT).
type FormatDesc struct {
	Format      capture.PixelFormat
	Description string
}

// FrameSize is one entry of VIDIOC_ENUM_FRAMESIZES. A discrete size has
// Min == Max and zero steps; a stepwise or continuous range has steps ≥ 1.
type FrameSize struct {
	MinWidth, MaxWidth, StepWidth    int
	MinHeight, MaxHeight, StepHeight int
}

// Discrete reports whether s is a single size.
func (s FrameSize) Discrete() bool {
	return s.MinWidth == s.MaxWidth && s.MinHeight == s.MaxHeight
}

// Contains reports whether w×h is one of the sizes s describes.
func (s FrameSize) Contains(w, h int) bool {
	return inSteps(w, s.MinWidth, s.MaxWidth, s.StepWidth) && inSteps(h, s.MinHeight, s.MaxHeight, s.StepHeight)
}

func inSteps(v, lo, hi, step int) bool {
	if v < lo || v > hi {
		return false
	}
	return step <= 1 || (v-lo)%step == 0
}

// Fract is a time per frame in seconds, Num/Den.
type Fract struct{ Num, Den uint32 }

// FPS is the frame rate of the interval, 0 for a zero interval.
func (f Fract) FPS() float64 {
	if f.Num == 0 {
		return 0
	}
	return float64(f.Den) / float64(f.Num)
}

// FrameInterval is one entry of VIDIOC_ENUM_FRAMEINTERVALS: a discrete
// interval (Min == Max) or a range of them.
type FrameInterval struct {
	Min, Max, Step Fract
}

// Discrete reports whether i is a single interval.
func (i FrameInterval) Discrete() bool { return i.Min == i.Max }

// Allows reports whether fps frames per second (rounded) is offered.
func (i FrameInterval) Allows(fps int) bool {
	if i.Discrete() {
		return roundFPS(i.Min) == fps
	}
	// Min is the shortest interval: the highest rate.
	hi, lo := i.Min.FPS(), i.Max.FPS()
	f := float64(fps)
	return f <= hi+0.5 && f >= lo-0.5
}

func roundFPS(f Fract) int {
	if f.Num == 0 {
		return 0
	}
	return int((uint64(f.Den) + uint64(f.Num)/2) / uint64(f.Num))
}

// PixFormat is what VIDIOC_S_FMT settled on.
type PixFormat struct {
	Format       capture.PixelFormat
	Width        int
	Height       int
	BytesPerLine int
	SizeImage    int
}

// ControlInfo describes one control (VIDIOC_QUERY_EXT_CTRL).
type ControlInfo struct {
	ID uint32
	// Name is the driver's name, e.g. "White Balance, Automatic".
	Name     string
	Type     uint32
	Min, Max int64
	Step     uint64
	Default  int64
	Flags    uint32
}

// Buffer is one dequeued buffer.
type Buffer struct {
	Index     int
	BytesUsed int
	Flags     uint32
	Sequence  uint32
	// Timestamp is v4l2_buffer.timestamp as a duration; which clock it
	// reads is in Flags (V4L2_BUF_FLAG_TIMESTAMP_MASK).
	Timestamp time.Duration
}

// monotonic reports whether the timestamp is CLOCK_MONOTONIC.
func (b *Buffer) monotonic() bool {
	return b.Flags&bufFlagTimestampMask == bufFlagTimestampMonotonic
}
