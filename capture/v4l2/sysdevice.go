package v4l2

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

// Limits on what a driver may report.
const (
	maxControls = 1024
	maxBuffers  = 32
	// maxBufferBytes bounds one mapped buffer (a 4096x2160 4:2:2 frame is 17.7 MB).
	maxBufferBytes = 64 << 20
)

// ErrNotCapture: the node exists but is not a streaming video capture device
// (a metadata node, a memory-to-memory codec, an output…).
var ErrNotCapture = errors.New("v4l2: not a video capture device")

// sysDevice is the real Device: github.com/blackjack/webcam enumerates and
// sets the format; the streaming, frame-rate and control ioctls are issued
// here, on a second descriptor of the same node, because webcam's own
// streaming drops each buffer's timestamp and sequence number.
type sysDevice struct {
	path string
	fd   int
	cam  *webcam.Webcam

	bufs      [][]byte
	streaming bool
	pfd       [1]unix.PollFd
	dq, q     v4l2Buffer // scratch for Dequeue and Queue, kept off the stack
}

var _ Device = (*sysDevice)(nil)

// OpenDevice opens the V4L2 capture node at path.
func OpenDevice(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("v4l2: open %s: %w", path, err)
	}
	caps, err := queryCap(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("v4l2: %s: VIDIOC_QUERYCAP: %w", path, err)
	}
	if c := caps.nodeCaps(); c&capVideoCapture == 0 || c&capStreaming == 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s is %s (%s)", ErrNotCapture, path, cstring(caps.Card[:]), kindOf(c))
	}
	cam, err := webcam.Open(path)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("v4l2: open %s: %w", path, err)
	}
	d := &sysDevice{path: path, fd: fd, cam: cam}
	d.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	return d, nil
}

func queryCap(fd int) (*v4l2Capability, error) {
	var c v4l2Capability
	if err := ioctl(fd, vidiocQueryCap, unsafe.Pointer(&c)); err != nil {
		return nil, err
	}
	return &c, nil
}

// nodeCaps are the capabilities of this node (device_caps), falling back to
// those of the whole device on old drivers.
func (c *v4l2Capability) nodeCaps() uint32 {
	if c.Capabilities&capDeviceCaps != 0 {
		return c.DeviceCaps
	}
	return c.Capabilities
}

func (d *sysDevice) Formats() ([]FormatDesc, error) {
	m := d.cam.GetSupportedFormats()
	out := make([]FormatDesc, 0, len(m))
	for f, desc := range m {
		out = append(out, FormatDesc{Format: capture.PixelFormat(f), Description: desc})
	}
	// webcam returns a map: sort for a stable listing.
	slices.SortFunc(out, func(a, b FormatDesc) int { return cmpFourCC(a.Format, b.Format) })
	return out, nil
}

func cmpFourCC(a, b capture.PixelFormat) int {
	if a.String() < b.String() {
		return -1
	}
	if a.String() > b.String() {
		return 1
	}
	return 0
}

func (d *sysDevice) FrameSizes(f capture.PixelFormat) ([]FrameSize, error) {
	var out []FrameSize
	for _, s := range d.cam.GetSupportedFrameSizes(webcam.PixelFormat(f)) {
		if s.MaxWidth == 0 || s.MaxHeight == 0 {
			// webcam leaves a continuous range empty: any size, S_FMT decides.
			out = append(out, FrameSize{MinWidth: 1, MaxWidth: 1 << 16, StepWidth: 1, MinHeight: 1, MaxHeight: 1 << 16, StepHeight: 1})
			continue
		}
		out = append(out, FrameSize{
			MinWidth: int(s.MinWidth), MaxWidth: int(s.MaxWidth), StepWidth: int(s.StepWidth),
			MinHeight: int(s.MinHeight), MaxHeight: int(s.MaxHeight), StepHeight: int(s.StepHeight),
		})
	}
	return out, nil
}

func (d *sysDevice) FrameIntervals(f capture.PixelFormat, w, h int) ([]FrameInterval, error) {
	var out []FrameInterval
	for _, r := range d.cam.GetSupportedFramerates(webcam.PixelFormat(f), uint32(w), uint32(h)) {
		out = append(out, FrameInterval{
			Min:  Fract{r.MinNumerator, r.MinDenominator},
			Max:  Fract{r.MaxNumerator, r.MaxDenominator},
			Step: Fract{r.StepNumerator, r.StepDenominator},
		})
	}
	return out, nil
}

func (d *sysDevice) SetFormat(f capture.PixelFormat, w, h int) (PixFormat, error) {
	if d.streaming {
		return PixFormat{}, errors.New("v4l2: SetFormat while streaming")
	}
	if _, _, _, err := d.cam.SetImageFormat(webcam.PixelFormat(f), uint32(w), uint32(h)); err != nil {
		return PixFormat{}, fmt.Errorf("v4l2: VIDIOC_S_FMT %s %dx%d: %w", f, w, h, err)
	}
	// webcam reports the size asked for, not the one set: read it back.
	var fm v4l2Format
	fm.Type = bufTypeVideoCapture
	if err := ioctl(d.fd, vidiocGFmt, unsafe.Pointer(&fm)); err != nil {
		return PixFormat{}, fmt.Errorf("v4l2: VIDIOC_G_FMT: %w", err)
	}
	p := fm.Fmt.Pix
	return PixFormat{
		Format: capture.PixelFormat(p.PixelFormat), Width: int(p.Width), Height: int(p.Height),
		BytesPerLine: int(p.BytesPerLine), SizeImage: int(p.SizeImage),
	}, nil
}

func (d *sysDevice) SetFrameRate(fps int) (Fract, error) {
	var p v4l2StreamParm
	p.Type = bufTypeVideoCapture
	if err := ioctl(d.fd, vidiocGParm, unsafe.Pointer(&p)); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return Fract{}, nil // the driver has no rate to set
		}
		return Fract{}, fmt.Errorf("v4l2: VIDIOC_G_PARM: %w", err)
	}
	if p.Capture.Capability&capTimePerFrame == 0 {
		return Fract{}, nil
	}
	p.Capture.TimePerFrame = v4l2Fract{Numerator: 1, Denominator: uint32(fps)}
	if err := ioctl(d.fd, vidiocSParm, unsafe.Pointer(&p)); err != nil {
		return Fract{}, fmt.Errorf("v4l2: VIDIOC_S_PARM 1/%d: %w", fps, err)
	}
	t := p.Capture.TimePerFrame
	return Fract{t.Numerator, t.Denominator}, nil
}

func (d *sysDevice) Controls() ([]ControlInfo, error) {
	var out []ControlInfo
	var q v4l2QueryExtCtrl
	id := uint32(0)
	for len(out) < maxControls {
		q = v4l2QueryExtCtrl{ID: id | ctrlFlagNextCtrl}
		err := ioctl(d.fd, vidiocQueryExtCtrl, unsafe.Pointer(&q))
		if errors.Is(err, unix.ENOTTY) && id == 0 {
			return d.controlsOld()
		}
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("v4l2: VIDIOC_QUERY_EXT_CTRL: %w", err)
		}
		if q.ID <= id&^ctrlFlagNextCtrl && id != 0 {
			break // a driver that does not advance
		}
		id = q.ID
		if q.Flags&ctrlFlagDisabled != 0 || q.Type == ctrlTypeCtrlClass {
			continue
		}
		out = append(out, ControlInfo{ID: q.ID, Name: cstring(q.Name[:]), Type: q.Type,
			Min: q.Minimum, Max: q.Maximum, Step: q.Step, Default: q.DefaultValue, Flags: q.Flags})
	}
	return out, nil
}

// controlsOld enumerates with VIDIOC_QUERYCTRL, for drivers older than
// VIDIOC_QUERY_EXT_CTRL.
func (d *sysDevice) controlsOld() ([]ControlInfo, error) {
	var out []ControlInfo
	var q v4l2QueryCtrl
	id := uint32(0)
	for len(out) < maxControls {
		q = v4l2QueryCtrl{ID: id | ctrlFlagNextCtrl}
		err := ioctl(d.fd, vidiocQueryCtrl, unsafe.Pointer(&q))
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("v4l2: VIDIOC_QUERYCTRL: %w", err)
		}
		if q.ID <= id && id != 0 {
			break
		}
		id = q.ID
		if q.Flags&ctrlFlagDisabled != 0 || q.Type == ctrlTypeCtrlClass {
			continue
		}
		out = append(out, ControlInfo{ID: q.ID, Name: cstring(q.Name[:]), Type: q.Type,
			Min: int64(q.Minimum), Max: int64(q.Maximum), Step: uint64(q.Step), Default: int64(q.DefaultValue), Flags: q.Flags})
	}
	return out, nil
}

func (d *sysDevice) SetControl(id uint32, value int32) error {
	c := v4l2Control{ID: id, Value: value}
	return ioctl(d.fd, vidiocSCtrl, unsafe.Pointer(&c))
}

func (d *sysDevice) Start(n int) ([][]byte, error) {
	if d.streaming {
		return nil, errors.New("v4l2: already streaming")
	}
	rb := v4l2RequestBuffers{Count: uint32(n), Type: bufTypeVideoCapture, Memory: memoryMMAP}
	if err := ioctl(d.fd, vidiocReqBufs, unsafe.Pointer(&rb)); err != nil {
		return nil, fmt.Errorf("v4l2: VIDIOC_REQBUFS %d: %w", n, err)
	}
	if rb.Count < 2 || rb.Count > maxBuffers {
		d.freeBuffers()
		return nil, fmt.Errorf("v4l2: the driver gave %d buffers, want 2 to %d", rb.Count, maxBuffers)
	}
	for i := range int(rb.Count) {
		b := v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMMAP}
		if err := ioctl(d.fd, vidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			d.freeBuffers()
			return nil, fmt.Errorf("v4l2: VIDIOC_QUERYBUF %d: %w", i, err)
		}
		if b.Length == 0 || b.Length > maxBufferBytes {
			d.freeBuffers()
			return nil, fmt.Errorf("v4l2: buffer %d is %d bytes, want 1 to %d", i, b.Length, maxBufferBytes)
		}
		m, err := unix.Mmap(d.fd, int64(b.Offset), int(b.Length), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			d.freeBuffers()
			return nil, fmt.Errorf("v4l2: mmap buffer %d: %w", i, err)
		}
		d.bufs = append(d.bufs, m)
	}
	for i := range d.bufs {
		if err := d.Queue(i); err != nil {
			d.freeBuffers()
			return nil, fmt.Errorf("v4l2: VIDIOC_QBUF %d: %w", i, err)
		}
	}
	typ := uint32(bufTypeVideoCapture)
	if err := ioctl(d.fd, vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		d.freeBuffers()
		return nil, fmt.Errorf("v4l2: VIDIOC_STREAMON: %w", err)
	}
	d.streaming = true
	return d.bufs, nil
}

// freeBuffers unmaps the buffers and asks the driver to free them.
func (d *sysDevice) freeBuffers() {
	for _, b := range d.bufs {
		unix.Munmap(b)
	}
	d.bufs = nil
	rb := v4l2RequestBuffers{Count: 0, Type: bufTypeVideoCapture, Memory: memoryMMAP}
	ioctl(d.fd, vidiocReqBufs, unsafe.Pointer(&rb)) // best effort: close frees them too
}

func (d *sysDevice) Wait(timeout time.Duration) error {
	n, err := unix.Poll(d.pfd[:], int(timeout/time.Millisecond))
	if err == unix.EINTR || n == 0 {
		return ErrTimeout
	}
	if err != nil {
		return fmt.Errorf("v4l2: poll: %w", err)
	}
	if d.pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
		return ErrGone
	}
	return nil
}

func (d *sysDevice) Dequeue(b *Buffer) error {
	d.dq = v4l2Buffer{Type: bufTypeVideoCapture, Memory: memoryMMAP}
	if err := ioctl(d.fd, vidiocDQBuf, unsafe.Pointer(&d.dq)); err != nil {
		if err == unix.EAGAIN {
			return ErrNotReady
		}
		return err
	}
	if int(d.dq.Index) >= len(d.bufs) || d.dq.BytesUsed > d.dq.Length {
		return fmt.Errorf("v4l2: VIDIOC_DQBUF returned buffer %d with %d of %d bytes", d.dq.Index, d.dq.BytesUsed, d.dq.Length)
	}
	b.Index = int(d.dq.Index)
	b.BytesUsed = int(d.dq.BytesUsed)
	b.Flags = d.dq.Flags
	b.Sequence = d.dq.Sequence
	b.Timestamp = time.Duration(d.dq.Timestamp.Sec)*time.Second + time.Duration(d.dq.Timestamp.Usec)*time.Microsecond
	return nil
}

func (d *sysDevice) Queue(i int) error {
	d.q = v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMMAP}
	return ioctl(d.fd, vidiocQBuf, unsafe.Pointer(&d.q))
}

func (d *sysDevice) Close() error {
	if d.streaming {
		typ := uint32(bufTypeVideoCapture)
		ioctl(d.fd, vidiocStreamOff, unsafe.Pointer(&typ)) // fails with ENODEV once unplugged; close still frees
		d.streaming = false
	}
	for _, b := range d.bufs {
		unix.Munmap(b)
	}
	d.bufs = nil
	err := unix.Close(d.fd)
	d.cam.Close()
	return err
}
