package m2m

import (
	"errors"
	"time"

	"github.com/camagent/camagent/capture"
)

// Queue is one of the two queues of a memory-to-memory device: raw frames
// go into Output, coded frames come out of Capture.
type Queue uint8

// The queues.
const (
	Output  Queue = iota // raw frames in (V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
	Capture              // coded frames out (V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE)
)

func (q Queue) String() string {
	if q == Output {
		return "OUTPUT"
	}
	return "CAPTURE"
}

// Device is the seam between Encoder and a V4L2 stateful M2M encoder node:
// the operations of the kernel's "Memory-to-Memory Stateful Video Encoder
// Interface", on the multi-planar API, one memory plane per buffer.
// OpenDevice gives the real one; FakeDevice stands in for it in tests.
// A Device is used from one goroutine at a time.
type Device interface {
	// Caps is what VIDIOC_QUERYCAP said when the device was opened.
	Caps() Caps
	// Formats lists the pixel formats of queue q (VIDIOC_ENUM_FMT).
	Formats(q Queue) ([]capture.PixelFormat, error)
	// SetFormat asks for f on queue q (VIDIOC_S_FMT) and returns what
	// the driver chose.
	SetFormat(q Queue, f Format) (Format, error)
	// GetFormat reads the format of queue q (VIDIOC_G_FMT).
	GetFormat(q Queue) (Format, error)
	// SetFrameRate sets the OUTPUT queue's frame interval to 1/fps
	// (VIDIOC_S_PARM) and returns the rate the driver settled on; 0 and
	// no error when the driver has no frame interval.
	SetFrameRate(fps int) (float64, error)
	// Control describes control id (VIDIOC_QUERYCTRL); ErrNoControl
	// when the device has no such control.
	Control(id uint32) (ControlInfo, error)
	// SetControl sets control id (VIDIOC_S_CTRL).
	SetControl(id uint32, value int32) error
	// Subscribe subscribes to an event type (VIDIOC_SUBSCRIBE_EVENT).
	Subscribe(event uint32) error
	// Allocate asks for n buffers on queue q (VIDIOC_REQBUFS), maps them
	// (VIDIOC_QUERYBUF, mmap) and returns their memory, by index.
	Allocate(q Queue, n int) ([][]byte, error)
	// Enqueue hands buffer b.Index of queue q to the driver (VIDIOC_QBUF)
	// with b.BytesUsed and b.Timestamp (for Output).
	Enqueue(q Queue, b *Buffer) error
	// Dequeue takes a done buffer from queue q (VIDIOC_DQBUF) into b;
	// ErrNotReady when none is, ErrLast after the last buffer of a drain.
	Dequeue(q Queue, b *Buffer) error
	// StreamOn and StreamOff start and stop queue q.
	StreamOn(q Queue) error
	StreamOff(q Queue) error
	// Wait blocks until a buffer or an event is ready, or timeout passes
	// (Ready 0 and no error).
	Wait(timeout time.Duration) (Ready, error)
	// DequeueEvent takes a pending event (VIDIOC_DQEVENT); ErrNotReady
	// when none is.
	DequeueEvent(e *Event) error
	// Stop starts a drain (VIDIOC_ENCODER_CMD V4L2_ENC_CMD_STOP).
	Stop() error
	// Close unmaps the buffers, frees them and closes the node.
	Close() error
}

// Errors a Device returns besides errnos (unix.Errno values).
var (
	ErrNotReady  = errors.New("m2m: no buffer ready")
	ErrLast      = errors.New("m2m: the last buffer of the drain was dequeued")
	ErrNoControl = errors.New("m2m: no such control")
)

// Caps is what VIDIOC_QUERYCAP reports.
type Caps struct {
	Driver, Card, BusInfo string
	// DeviceCaps are the node's capabilities (device_caps).
	DeviceCaps uint32
}

// MultiPlanarM2M reports whether the node is a streaming multi-planar
// memory-to-memory device.
func (c Caps) MultiPlanarM2M() bool {
	return c.DeviceCaps&capVideoM2MMplan != 0 && c.DeviceCaps&capStreaming != 0
}

// SinglePlanarM2M reports whether the node is a single-planar M2M device
// (which this package does not drive).
func (c Caps) SinglePlanarM2M() bool { return c.DeviceCaps&capVideoM2M != 0 }

// Format is a queue's format with one memory plane.
type Format struct {
	Format        capture.PixelFormat
	Width, Height int
	// BytesPerLine is the stride of the first (luma) plane of raw formats,
	// 0 for coded ones.
	BytesPerLine int
	// SizeImage is the size of a buffer.
	SizeImage int
	// Planes is the number of memory planes (this package needs 1).
	Planes int
}

// ControlInfo is what VIDIOC_QUERYCTRL says of a control.
type ControlInfo struct {
	ID               uint32
	Name             string
	Min, Max, Step   int32
	Default          int32
	Flags            uint32
	Disabled, ReadOn bool
}

// Clamp brings v into the control's range and onto its step.
func (c ControlInfo) Clamp(v int) int32 {
	x := int64(v)
	x = max(x, int64(c.Min))
	x = min(x, int64(c.Max))
	if c.Step > 1 {
		x = int64(c.Min) + (x-int64(c.Min))/int64(c.Step)*int64(c.Step)
	}
	return int32(x)
}

// Buffer is one buffer handed to or taken from a queue.
type Buffer struct {
	Index     int
	BytesUsed int
	Flags     uint32
	Sequence  uint32
	// Timestamp is v4l2_buffer.timestamp as a duration. On Output it is
	// the frame's capture time; the driver copies it to the Capture
	// buffer holding the frame's coded data.
	Timestamp time.Duration
}

// Keyframe reports V4L2_BUF_FLAG_KEYFRAME.
func (b *Buffer) Keyframe() bool { return b.Flags&bufFlagKeyframe != 0 }

// Last reports V4L2_BUF_FLAG_LAST: the final buffer of a drain.
func (b *Buffer) Last() bool { return b.Flags&bufFlagLast != 0 }

// Failed reports V4L2_BUF_FLAG_ERROR: the driver could not fill it.
func (b *Buffer) Failed() bool { return b.Flags&bufFlagError != 0 }

// Ready says what Wait found.
type Ready uint8

// What Wait can find ready.
const (
	ReadyCapture Ready = 1 << iota // a Capture buffer to dequeue (POLLIN)
	ReadyOutput                    // an Output buffer to dequeue (POLLOUT)
	ReadyEvent                     // an event (POLLPRI)
	ReadyError                     // POLLERR: nothing queued, or the device failed
)

// Event is a dequeued V4L2 event.
type Event struct {
	Type uint32
	// Changes is u.src_change.changes of V4L2_EVENT_SOURCE_CHANGE.
	Changes uint32
}
