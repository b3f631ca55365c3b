package m2m

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/camagent/camagent/capture"
)

// FakeDevice is a stateful M2M encoder in memory, for tests: it takes raw
// frames on Output, writes a coded frame of the format set on Capture
// (H.264 Annex-B or an FWHT header and payload; or what Produce returns)
// into the next queued Capture buffer, copies the timestamp across, and
// follows the GOP, bitrate, QP and FORCE_KEY_FRAME controls. It drains on
// Stop with an empty LAST buffer and an EOS event, and records the calls
// made, so tests can check the order of the initialization sequence and
// that Close left nothing behind.
type FakeDevice struct {
	// DevCaps is what Caps returns (default: a multi-planar M2M encoder
	// named "fake-codec").
	DevCaps Caps
	// CaptureFormats and OutputFormats are what Formats lists (default:
	// H264 and FWHT; YU12, NV12 and YUYV).
	CaptureFormats, OutputFormats []capture.PixelFormat
	// Controls are the controls the device has (default: those of
	// DefaultControls for the coded format set).
	Controls map[uint32]ControlInfo
	// StrideAlign and HeightAlign pad the raw format's lines and luma
	// height, as the Raspberry Pi's codec does (default 1: none).
	StrideAlign, HeightAlign int
	// SeparateHeader makes H.264 SPS and PPS come in a Capture buffer of
	// their own before the first IDR, as on the Raspberry Pi.
	SeparateHeader bool
	// HeaderOnce sends SPS and PPS before the first IDR only (no
	// REPEAT_SEQ_HEADER).
	HeaderOnce bool
	// FailFrames flags the coded buffers of these frames (0-based) with
	// V4L2_BUF_FLAG_ERROR.
	FailFrames map[int]bool
	// SourceChangeAfter raises V4L2_EVENT_SOURCE_CHANGE after that many
	// frames (0: never).
	SourceChangeAfter int
	// Stall makes the device code nothing (frames stay queued).
	Stall bool
	// Produce, if set, gives the coded bytes of frame n instead.
	Produce func(n int, key bool) []byte

	mu        sync.Mutex
	fmts      [2]Format
	ctrl      map[uint32]int32
	bufs      [2][][]byte
	queuedCap []int
	pendOut   []Buffer
	doneCap   []Buffer
	doneOut   []Buffer
	events    []Event
	streaming [2]bool
	frames    int
	gopCnt    int
	headerOut bool
	draining  bool
	lastOut   bool
	closed    bool
	calls     []string
	fps       int
}

var _ Device = (*FakeDevice)(nil)

// DefaultControls are the controls of a fake H.264 encoder (as the
// Raspberry Pi's) or FWHT one (as vicodec).
func DefaultControls(codec capture.PixelFormat) map[uint32]ControlInfo {
	if codec == FWHT {
		return map[uint32]ControlInfo{
			cidGOPSize:      {ID: cidGOPSize, Min: 1, Max: 16, Step: 1, Default: 10},
			cidFWHTIFrameQP: {ID: cidFWHTIFrameQP, Min: 1, Max: 31, Step: 1, Default: 20},
			cidFWHTPFrameQP: {ID: cidFWHTPFrameQP, Min: 1, Max: 31, Step: 1, Default: 20},
		}
	}
	return map[uint32]ControlInfo{
		cidBitrate:         {ID: cidBitrate, Min: 25000, Max: 25000000, Step: 25000, Default: 10000000},
		cidH264IPeriod:     {ID: cidH264IPeriod, Min: 0, Max: 2147483647, Step: 1, Default: 60},
		cidForceKeyFrame:   {ID: cidForceKeyFrame, Min: 0, Max: 0, Step: 0},
		cidRepeatSeqHeader: {ID: cidRepeatSeqHeader, Min: 0, Max: 1, Step: 1},
		cidH264Profile:     {ID: cidH264Profile, Min: 0, Max: 4, Step: 1},
		cidH264Level:       {ID: cidH264Level, Min: 0, Max: 13, Step: 1, Default: 11},
	}
}

func (d *FakeDevice) call(format string, a ...any) {
	d.calls = append(d.calls, fmt.Sprintf(format, a...))
}

// Calls lists the operations made so far, e.g. "S_FMT CAPTURE H264".
func (d *FakeDevice) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// ControlValue is the value control id was last set to.
func (d *FakeDevice) ControlValue(id uint32) (int32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.ctrl[id]
	return v, ok
}

// Closed reports whether Close was called, and whether the buffers were
// freed and both queues stopped by then.
func (d *FakeDevice) Closed() (closed, clean bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed, d.bufs[0] == nil && d.bufs[1] == nil && !d.streaming[0] && !d.streaming[1]
}

func (d *FakeDevice) Caps() Caps {
	if d.DevCaps.Driver == "" {
		return Caps{Driver: "fake-codec", Card: "fake-codec", DeviceCaps: capVideoM2MMplan | capStreaming}
	}
	return d.DevCaps
}

func (d *FakeDevice) Formats(q Queue) ([]capture.PixelFormat, error) {
	if q == Capture {
		if d.CaptureFormats == nil {
			return []capture.PixelFormat{capture.H264, FWHT}, nil
		}
		return d.CaptureFormats, nil
	}
	if d.OutputFormats == nil {
		return []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV}, nil
	}
	return d.OutputFormats, nil
}

func align(v, a int) int {
	if a <= 1 {
		return v
	}
	return (v + a - 1) / a * a
}

func (d *FakeDevice) SetFormat(q Queue, f Format) (Format, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("S_FMT %s %s", q, f.Format)
	if d.streaming[q] {
		return Format{}, fmt.Errorf("fake: S_FMT while streaming")
	}
	if q == Capture {
		f.BytesPerLine = 0
		f.SizeImage = max(f.SizeImage, f.Width*f.Height*3/2+4096)
		f.Planes = 1
		d.fmts[Capture] = f
		if d.Controls == nil {
			d.Controls = DefaultControls(f.Format)
		}
		return f, nil
	}
	stride := align(f.Width, d.StrideAlign)
	h := align(f.Height, d.HeightAlign)
	switch f.Format {
	case capture.YUYV:
		stride = align(2*f.Width, d.StrideAlign)
		f.SizeImage = stride * h
	default:
		f.SizeImage = stride*h + stride*(h/2)
	}
	f.BytesPerLine, f.Planes = stride, 1
	d.fmts[Output] = f
	d.fmts[Capture].Width, d.fmts[Capture].Height = f.Width, f.Height
	return f, nil
}

func (d *FakeDevice) GetFormat(q Queue) (Format, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fmts[q], nil
}

func (d *FakeDevice) SetFrameRate(fps int) (float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("S_PARM %d", fps)
	d.fps = fps
	return float64(fps), nil
}

func (d *FakeDevice) Control(id uint32) (ControlInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.Controls[id]
	if !ok {
		return ControlInfo{}, fmt.Errorf("%w: %#x", ErrNoControl, id)
	}
	return c, nil
}

func (d *FakeDevice) SetControl(id uint32, v int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.Controls[id]
	if !ok {
		return fmt.Errorf("fake: no control %#x", id)
	}
	if c.Max > c.Min && (v < c.Min || v > c.Max) {
		return fmt.Errorf("fake: control %#x value %d outside %d..%d", id, v, c.Min, c.Max)
	}
	if d.ctrl == nil {
		d.ctrl = map[uint32]int32{}
	}
	d.ctrl[id] = v
	if id == cidForceKeyFrame {
		d.gopCnt = 0
	}
	return nil
}

func (d *FakeDevice) Subscribe(uint32) error { return nil }

func (d *FakeDevice) Allocate(q Queue, n int) ([][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("REQBUFS %s %d", q, n)
	if d.bufs[q] != nil {
		return nil, fmt.Errorf("fake: %s buffers already allocated", q)
	}
	size := d.fmts[q].SizeImage
	if size == 0 {
		return nil, fmt.Errorf("fake: REQBUFS before S_FMT")
	}
	for range n {
		d.bufs[q] = append(d.bufs[q], make([]byte, size))
	}
	return d.bufs[q], nil
}

func (d *FakeDevice) Enqueue(q Queue, b *Buffer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.Index < 0 || b.Index >= len(d.bufs[q]) {
		return fmt.Errorf("fake: QBUF %s %d of %d", q, b.Index, len(d.bufs[q]))
	}
	if q == Capture {
		d.queuedCap = append(d.queuedCap, b.Index)
	} else {
		d.pendOut = append(d.pendOut, *b)
	}
	d.run()
	return nil
}

// run codes pending Output buffers into queued Capture buffers.
func (d *FakeDevice) run() {
	if !d.streaming[Output] || !d.streaming[Capture] || d.Stall {
		return
	}
	if d.draining && !d.lastOut && len(d.pendOut) == 0 && len(d.queuedCap) > 0 {
		i := popInt(&d.queuedCap)
		d.doneCap = append(d.doneCap, Buffer{Index: i, Flags: bufFlagLast})
		d.events = append(d.events, Event{Type: eventEOS})
		d.lastOut = true
		return
	}
	for len(d.pendOut) > 0 && len(d.queuedCap) > 0 {
		in := d.pendOut[0]
		key := d.gopCnt == 0
		if key && d.fmts[Capture].Format == capture.H264 && d.SeparateHeader && !d.headerOut {
			i := popInt(&d.queuedCap)
			n := copy(d.bufs[Capture][i], fakeSPSPPS)
			d.doneCap = append(d.doneCap, Buffer{Index: i, BytesUsed: n, Timestamp: in.Timestamp})
			d.headerOut = true
			continue
		}
		popBuffer(&d.pendOut)
		i := popInt(&d.queuedCap)
		var data []byte
		if d.Produce != nil {
			data = d.Produce(d.frames, key)
		} else {
			data = d.code(key)
		}
		n := copy(d.bufs[Capture][i], data)
		flags := uint32(bufFlagPFrame)
		if key {
			flags = bufFlagKeyframe
		}
		if d.FailFrames[d.frames] {
			flags |= bufFlagError
		}
		d.doneCap = append(d.doneCap, Buffer{Index: i, BytesUsed: n, Flags: flags, Timestamp: in.Timestamp, Sequence: uint32(d.frames)})
		d.doneOut = append(d.doneOut, Buffer{Index: in.Index, Timestamp: in.Timestamp})
		d.frames++
		d.gopCnt++
		if d.gopCnt >= d.gop() {
			d.gopCnt = 0
		}
		if d.SourceChangeAfter > 0 && d.frames == d.SourceChangeAfter {
			d.events = append(d.events, Event{Type: eventSourceChange, Changes: 1})
		}
	}
}

func (d *FakeDevice) gop() int {
	for _, id := range []uint32{cidGOPSize, cidH264IPeriod} {
		if v, ok := d.ctrl[id]; ok && v > 0 {
			return int(v)
		}
	}
	return 10
}

var fakeSPSPPS = []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xda, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}

// code makes a coded frame whose size follows the bitrate (H.264) or the
// QP (FWHT).
func (d *FakeDevice) code(key bool) []byte {
	f := d.fmts[Capture]
	if f.Format == FWHT {
		qp := d.ctrl[cidFWHTPFrameQP]
		if key {
			qp = d.ctrl[cidFWHTIFrameQP]
		}
		size := f.Width * f.Height / int(max(qp, 1)+1)
		if key {
			size *= 2
		}
		b := make([]byte, fwhtHeaderSize+size)
		binary.BigEndian.PutUint32(b[0:], fwhtMagic1)
		binary.BigEndian.PutUint32(b[4:], fwhtMagic2)
		binary.BigEndian.PutUint32(b[8:], 3)
		binary.BigEndian.PutUint32(b[12:], uint32(f.Width))
		binary.BigEndian.PutUint32(b[16:], uint32(f.Height))
		var flags uint32
		if key {
			flags = fwhtFlIFrame
		}
		binary.BigEndian.PutUint32(b[20:], flags)
		binary.BigEndian.PutUint32(b[40:], uint32(size))
		return b
	}
	br := int(d.ctrl[cidBitrate])
	if br == 0 {
		br = 1_000_000
	}
	size := max(br/8/max(d.fps, 1), 16)
	var b []byte
	if key && (!d.HeaderOnce || !d.headerOut) && !d.SeparateHeader {
		b = append(b, fakeSPSPPS...)
		d.headerOut = true
	}
	nal := byte(0x41)
	if key {
		nal = 0x65
		size *= 3
	}
	b = append(b, 0, 0, 0, 1, nal)
	for range size {
		b = append(b, 0xaa)
	}
	return b
}

func (d *FakeDevice) Dequeue(q Queue, b *Buffer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	done := &d.doneOut
	if q == Capture {
		done = &d.doneCap
		if len(*done) == 0 && d.lastOut {
			return ErrLast
		}
	}
	if len(*done) == 0 {
		return ErrNotReady
	}
	*b = popBuffer(done)
	return nil
}

func (d *FakeDevice) StreamOn(q Queue) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("STREAMON %s", q)
	d.streaming[q] = true
	d.run()
	return nil
}

func (d *FakeDevice) StreamOff(q Queue) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("STREAMOFF %s", q)
	d.streaming[q] = false
	return nil
}

func (d *FakeDevice) Wait(timeout time.Duration) (Ready, error) {
	d.mu.Lock()
	var r Ready
	if len(d.doneCap) > 0 || d.lastOut {
		r |= ReadyCapture
	}
	if len(d.doneOut) > 0 {
		r |= ReadyOutput
	}
	if len(d.events) > 0 {
		r |= ReadyEvent
	}
	d.mu.Unlock()
	if r == 0 {
		time.Sleep(min(timeout, time.Millisecond))
	}
	return r, nil
}

func (d *FakeDevice) DequeueEvent(e *Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.events) == 0 {
		return ErrNotReady
	}
	*e = d.events[0]
	d.events = append(d.events[:0], d.events[1:]...)
	return nil
}

func (d *FakeDevice) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("ENCODER_CMD STOP")
	d.draining = true
	d.run()
	return nil
}

func (d *FakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("CLOSE")
	d.streaming = [2]bool{}
	d.bufs = [2][][]byte{}
	d.closed = true
	return nil
}

// popInt and popBuffer take the head of a queue, keeping its array (so
// the fake does not allocate per frame).
func popInt(q *[]int) int {
	v := (*q)[0]
	*q = append((*q)[:0], (*q)[1:]...)
	return v
}

func popBuffer(q *[]Buffer) Buffer {
	v := (*q)[0]
	*q = append((*q)[:0], (*q)[1:]...)
	return v
}
