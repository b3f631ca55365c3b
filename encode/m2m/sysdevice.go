package m2m

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

// Limits on what a driver may report.
const (
	maxFormats = 256
	maxBuffers = 32
	// maxBufferBytes bounds one mapped buffer (a 4096x2160 4:2:2 frame is 17.7 MB).
	maxBufferBytes = 64 << 20
)

// sysDevice is the real Device: ioctls on an open /dev/video* node.
type sysDevice struct {
	path string
	fd   int
	caps Caps

	bufs      [2][][]byte
	streaming [2]bool
	pfd       [1]unix.PollFd
	// Scratch for the per-frame ioctls, kept off the stack so that
	// passing their addresses to the kernel does not allocate.
	qb, dqb  v4l2Buffer
	qp, dqp  v4l2Plane
	ev       v4l2Event
	ctl      v4l2Control
	typ      uint32
	plane0   [videoMaxPlanes]v4l2Plane // QUERYBUF
	queryBuf v4l2Buffer
}

var _ Device = (*sysDevice)(nil)

// OpenDevice opens the V4L2 node at path, non-blocking, and reads its
// capabilities. It does not check that the node is an encoder.
func OpenDevice(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("m2m: open %s: %w", path, err)
	}
	var c v4l2Capability
	if err := ioctl(fd, vidiocQueryCap, unsafe.Pointer(&c)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("m2m: %s: VIDIOC_QUERYCAP: %w", path, err)
	}
	caps := Caps{Driver: cstring(c.Driver[:]), Card: cstring(c.Card[:]), BusInfo: cstring(c.BusInfo[:]), DeviceCaps: c.Capabilities}
	if c.Capabilities&capDeviceCaps != 0 {
		caps.DeviceCaps = c.DeviceCaps
	}
	d := &sysDevice{path: path, fd: fd, caps: caps}
	d.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT | unix.POLLPRI}
	return d, nil
}

func bufType(q Queue) uint32 {
	if q == Output {
		return bufTypeOutputMplane
	}
	return bufTypeCaptureMplane
}

func (d *sysDevice) Caps() Caps { return d.caps }

func (d *sysDevice) Formats(q Queue) ([]capture.PixelFormat, error) {
	var out []capture.PixelFormat
	for i := range uint32(maxFormats) {
		fd := v4l2FmtDesc{Index: i, Type: bufType(q)}
		err := ioctl(d.fd, vidiocEnumFmt, unsafe.Pointer(&fd))
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("m2m: VIDIOC_ENUM_FMT %s: %w", q, err)
		}
		out = append(out, capture.PixelFormat(fd.PixelFormat))
	}
	return out, nil
}

func toFormat(f *v4l2Format) Format {
	p := &f.Fmt.Pix
	return Format{
		Format: capture.PixelFormat(p.PixelFormat), Width: int(p.Width), Height: int(p.Height),
		BytesPerLine: int(p.PlaneFmt[0].BytesPerLine), SizeImage: int(p.PlaneFmt[0].SizeImage),
		Planes: int(p.NumPlanes),
	}
}

func (d *sysDevice) SetFormat(q Queue, f Format) (Format, error) {
	var fm v4l2Format
	fm.Type = bufType(q)
	p := &fm.Fmt.Pix
	p.Width, p.Height, p.PixelFormat, p.Field = uint32(f.Width), uint32(f.Height), uint32(f.Format), fieldNone
	p.NumPlanes = 1
	p.PlaneFmt[0].SizeImage = uint32(f.SizeImage)
	p.PlaneFmt[0].BytesPerLine = uint32(f.BytesPerLine)
	if err := ioctl(d.fd, vidiocSFmt, unsafe.Pointer(&fm)); err != nil {
		return Format{}, fmt.Errorf("m2m: VIDIOC_S_FMT %s %s %dx%d: %w", q, f.Format, f.Width, f.Height, err)
	}
	return toFormat(&fm), nil
}

func (d *sysDevice) GetFormat(q Queue) (Format, error) {
	var fm v4l2Format
	fm.Type = bufType(q)
	if err := ioctl(d.fd, vidiocGFmt, unsafe.Pointer(&fm)); err != nil {
		return Format{}, fmt.Errorf("m2m: VIDIOC_G_FMT %s: %w", q, err)
	}
	return toFormat(&fm), nil
}

func (d *sysDevice) SetFrameRate(fps int) (float64, error) {
	var p v4l2StreamParm
	p.Type = bufTypeOutputMplane
	if err := ioctl(d.fd, vidiocGParm, unsafe.Pointer(&p)); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return 0, nil // the driver has no frame interval
		}
		return 0, fmt.Errorf("m2m: VIDIOC_G_PARM: %w", err)
	}
	if p.Output.Capability&capTimePerFrame == 0 {
		return 0, nil
	}
	p.Output.TimePerFrame = v4l2Fract{Numerator: 1, Denominator: uint32(fps)}
	if err := ioctl(d.fd, vidiocSParm, unsafe.Pointer(&p)); err != nil {
		return 0, fmt.Errorf("m2m: VIDIOC_S_PARM 1/%d: %w", fps, err)
	}
	t := p.Output.TimePerFrame
	if t.Numerator == 0 {
		return 0, nil
	}
	return float64(t.Denominator) / float64(t.Numerator), nil
}

func (d *sysDevice) Control(id uint32) (ControlInfo, error) {
	q := v4l2QueryCtrl{ID: id}
	if err := ioctl(d.fd, vidiocQueryCtrl, unsafe.Pointer(&q)); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
			return ControlInfo{}, fmt.Errorf("%w: %#x", ErrNoControl, id)
		}
		return ControlInfo{}, fmt.Errorf("m2m: VIDIOC_QUERYCTRL %#x: %w", id, err)
	}
	return ControlInfo{ID: q.ID, Name: cstring(q.Name[:]), Min: q.Minimum, Max: q.Maximum, Step: q.Step,
		Default: q.DefaultValue, Flags: q.Flags, Disabled: q.Flags&0x0001 != 0, ReadOn: q.Flags&0x0004 != 0}, nil
}

func (d *sysDevice) SetControl(id uint32, value int32) error {
	d.ctl = v4l2Control{ID: id, Value: value}
	return ioctl(d.fd, vidiocSCtrl, unsafe.Pointer(&d.ctl))
}

func (d *sysDevice) Subscribe(event uint32) error {
	s := v4l2EventSubscription{Type: event}
	return ioctl(d.fd, vidiocSubscribeEvent, unsafe.Pointer(&s))
}

func (d *sysDevice) Allocate(q Queue, n int) ([][]byte, error) {
	if len(d.bufs[q]) > 0 {
		return nil, fmt.Errorf("m2m: %s buffers already allocated", q)
	}
	rb := v4l2RequestBuffers{Count: uint32(n), Type: bufType(q), Memory: memoryMMAP}
	if err := ioctl(d.fd, vidiocReqBufs, unsafe.Pointer(&rb)); err != nil {
		return nil, fmt.Errorf("m2m: VIDIOC_REQBUFS %s %d: %w", q, n, err)
	}
	if rb.Count < 1 || rb.Count > maxBuffers {
		d.free(q)
		return nil, fmt.Errorf("m2m: the driver gave %d %s buffers, want 1 to %d", rb.Count, q, maxBuffers)
	}
	for i := range int(rb.Count) {
		d.plane0 = [videoMaxPlanes]v4l2Plane{}
		d.queryBuf = v4l2Buffer{Index: uint32(i), Type: bufType(q), Memory: memoryMMAP, Planes: &d.plane0[0], Length: videoMaxPlanes}
		if err := ioctl(d.fd, vidiocQueryBuf, unsafe.Pointer(&d.queryBuf)); err != nil {
			d.free(q)
			return nil, fmt.Errorf("m2m: VIDIOC_QUERYBUF %s %d: %w", q, i, err)
		}
		if d.queryBuf.Length != 1 {
			d.free(q)
			return nil, fmt.Errorf("m2m: %s buffer %d has %d memory planes, want 1", q, i, d.queryBuf.Length)
		}
		p := d.plane0[0]
		if p.Length == 0 || p.Length > maxBufferBytes {
			d.free(q)
			return nil, fmt.Errorf("m2m: %s buffer %d is %d bytes, want 1 to %d", q, i, p.Length, maxBufferBytes)
		}
		prot := unix.PROT_READ
		if q == Output {
			prot |= unix.PROT_WRITE
		}
		m, err := unix.Mmap(d.fd, int64(p.M&0xffffffff), int(p.Length), prot, unix.MAP_SHARED)
		if err != nil {
			d.free(q)
			return nil, fmt.Errorf("m2m: mmap %s buffer %d: %w", q, i, err)
		}
		d.bufs[q] = append(d.bufs[q], m)
	}
	return d.bufs[q], nil
}

// free unmaps the buffers of q and asks the driver to free them.
func (d *sysDevice) free(q Queue) {
	for _, b := range d.bufs[q] {
		unix.Munmap(b)
	}
	d.bufs[q] = nil
	rb := v4l2RequestBuffers{Count: 0, Type: bufType(q), Memory: memoryMMAP}
	ioctl(d.fd, vidiocReqBufs, unsafe.Pointer(&rb)) // best effort: close frees them too
}

func timeval(t time.Duration) unix.Timeval {
	return unix.NsecToTimeval(int64(t))
}

func (d *sysDevice) Enqueue(q Queue, b *Buffer) error {
	if b.Index < 0 || b.Index >= len(d.bufs[q]) {
		return fmt.Errorf("m2m: %s buffer %d of %d", q, b.Index, len(d.bufs[q]))
	}
	d.qp = v4l2Plane{BytesUsed: uint32(b.BytesUsed), Length: uint32(len(d.bufs[q][b.Index]))}
	d.qb = v4l2Buffer{Index: uint32(b.Index), Type: bufType(q), Memory: memoryMMAP, Field: fieldNone,
		BytesUsed: uint32(b.BytesUsed), Flags: b.Flags, Planes: &d.qp, Length: 1}
	if q == Output {
		d.qb.Timestamp = timeval(b.Timestamp)
	}
	return ioctl(d.fd, vidiocQBuf, unsafe.Pointer(&d.qb))
}

func (d *sysDevice) Dequeue(q Queue, b *Buffer) error {
	d.dqp = v4l2Plane{}
	d.dqb = v4l2Buffer{Type: bufType(q), Memory: memoryMMAP, Planes: &d.dqp, Length: 1}
	if err := ioctl(d.fd, vidiocDQBuf, unsafe.Pointer(&d.dqb)); err != nil {
		switch err {
		case unix.EAGAIN:
			return ErrNotReady
		case unix.EPIPE:
			return ErrLast
		}
		return err
	}
	if int(d.dqb.Index) >= len(d.bufs[q]) || int(d.dqp.BytesUsed) > len(d.bufs[q][d.dqb.Index]) ||
		d.dqp.DataOffset > d.dqp.BytesUsed {
		return fmt.Errorf("m2m: VIDIOC_DQBUF %s returned buffer %d with %d bytes at %d", q, d.dqb.Index, d.dqp.BytesUsed, d.dqp.DataOffset)
	}
	b.Index = int(d.dqb.Index)
	b.BytesUsed = int(d.dqp.BytesUsed)
	b.Flags = d.dqb.Flags
	b.Sequence = d.dqb.Sequence
	b.Timestamp = time.Duration(d.dqb.Timestamp.Nano())
	return nil
}

func (d *sysDevice) StreamOn(q Queue) error {
	d.typ = bufType(q)
	if err := ioctl(d.fd, vidiocStreamOn, unsafe.Pointer(&d.typ)); err != nil {
		return fmt.Errorf("m2m: VIDIOC_STREAMON %s: %w", q, err)
	}
	d.streaming[q] = true
	return nil
}

func (d *sysDevice) StreamOff(q Queue) error {
	d.typ = bufType(q)
	d.streaming[q] = false
	if err := ioctl(d.fd, vidiocStreamOff, unsafe.Pointer(&d.typ)); err != nil {
		return fmt.Errorf("m2m: VIDIOC_STREAMOFF %s: %w", q, err)
	}
	return nil
}

func (d *sysDevice) Wait(timeout time.Duration) (Ready, error) {
	d.pfd[0].Revents = 0
	n, err := unix.Poll(d.pfd[:], int(timeout/time.Millisecond))
	if err == unix.EINTR || n == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("m2m: poll: %w", err)
	}
	var r Ready
	ev := d.pfd[0].Revents
	if ev&unix.POLLIN != 0 {
		r |= ReadyCapture
	}
	if ev&unix.POLLOUT != 0 {
		r |= ReadyOutput
	}
	if ev&unix.POLLPRI != 0 {
		r |= ReadyEvent
	}
	if ev&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
		r |= ReadyError
	}
	return r, nil
}

func (d *sysDevice) DequeueEvent(e *Event) error {
	d.ev = v4l2Event{}
	if err := ioctl(d.fd, vidiocDQEvent, unsafe.Pointer(&d.ev)); err != nil {
		if err == unix.ENOENT || err == unix.EAGAIN {
			return ErrNotReady
		}
		return fmt.Errorf("m2m: VIDIOC_DQEVENT: %w", err)
	}
	*e = parseEvent(d.ev.Type, d.ev.U[:])
	return nil
}

// parseEvent reads the parts of struct v4l2_event's union this package
// uses: u.src_change.changes (a host-order __u32) for a source change.
func parseEvent(typ uint32, u []byte) Event {
	e := Event{Type: typ}
	if typ == eventSourceChange && len(u) >= 4 {
		e.Changes = binary.NativeEndian.Uint32(u)
	}
	return e
}

func (d *sysDevice) Stop() error {
	c := v4l2EncoderCmd{Cmd: encCmdStop}
	if err := ioctl(d.fd, vidiocEncoderCmd, unsafe.Pointer(&c)); err != nil {
		return fmt.Errorf("m2m: VIDIOC_ENCODER_CMD STOP: %w", err)
	}
	return nil
}

func (d *sysDevice) Close() error {
	for _, q := range []Queue{Capture, Output} {
		if d.streaming[q] {
			d.StreamOff(q) // fails once the device is gone; close still frees
		}
		d.free(q)
	}
	return unix.Close(d.fd)
}
