package v4l2

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

// FakeDevice is a Device in memory, for tests: a driver that offers
// Catalog, fills queued buffers in order when Capture is called (or on each
// Wait, with AutoCapture), drops frames when no buffer is queued (a gap in
// Sequence, as a real driver), and can be unplugged with Fail.
type FakeDevice struct {
	// Catalog is what the device offers. Intervals of ranges apply to
	// every size of the range.
	Catalog Catalog
	// ControlList is what Controls returns.
	ControlList []ControlInfo
	// Padding is added to each line's bytes (VIDIOC_S_FMT bytesperline).
	Padding int
	// FixedFPS, if set, is the rate VIDIOC_S_PARM always settles on; -1
	// means the driver cannot set its rate.
	FixedFPS int
	// AutoCapture makes each Wait capture one frame first.
	AutoCapture bool
	// Period is the time between frames' timestamps (default 40 ms); the
	// first frame is stamped Period.
	Period time.Duration
	// NoMonotonic stamps buffers without V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC.
	NoMonotonic bool
	// Fill, if set, writes frame seq's content into a buffer.
	Fill func(buf []byte, seq uint32)

	mu        sync.Mutex
	format    PixFormat
	bufs      [][]byte
	queued    []int    // indices the driver may fill, oldest first
	done      []Buffer // filled, waiting for Dequeue
	seq       uint32
	streaming bool
	closed    bool
	failErr   error
	set       []ControlSetting
}

var _ Device = (*FakeDevice)(nil)

// Fail makes the device behave as unplugged: Wait reports ErrGone and every
// other call err (e.g. unix.ENODEV).
func (d *FakeDevice) Fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failErr = err
}

// Closed reports whether Close was called.
func (d *FakeDevice) Closed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// SetControls returns the controls set so far, by driver name and value.
func (d *FakeDevice) SetControls() []ControlSetting {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ControlSetting(nil), d.set...)
}

// Queued reports how many buffers the driver holds to fill.
func (d *FakeDevice) Queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queued)
}

// Capture makes the driver capture n frames: each fills the oldest queued
// buffer, or is dropped when there is none.
func (d *FakeDevice) Capture(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		d.capture()
	}
}

func (d *FakeDevice) capture() {
	if !d.streaming {
		return
	}
	seq := d.seq
	d.seq++
	if len(d.queued) == 0 {
		return // no buffer: the frame is lost, its sequence number skipped
	}
	i := d.queued[0]
	d.queued = d.queued[:copy(d.queued, d.queued[1:])]
	if d.Fill != nil {
		d.Fill(d.bufs[i], seq)
	}
	period := d.Period
	if period == 0 {
		period = 40 * time.Millisecond
	}
	flags := uint32(bufFlagMapped | bufFlagDone)
	if !d.NoMonotonic {
		flags |= bufFlagTimestampMonotonic
	}
	d.done = append(d.done, Buffer{Index: i, BytesUsed: len(d.bufs[i]), Flags: flags, Sequence: seq,
		Timestamp: time.Duration(seq+1) * period})
}

func (d *FakeDevice) check() error {
	if d.closed {
		return unix.EBADF
	}
	return d.failErr
}

func (d *FakeDevice) Formats() ([]FormatDesc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return nil, err
	}
	out := make([]FormatDesc, len(d.Catalog))
	for i, f := range d.Catalog {
		out[i] = f.FormatDesc
	}
	return out, nil
}

func (d *FakeDevice) FrameSizes(f capture.PixelFormat) ([]FrameSize, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return nil, err
	}
	fm, _ := d.Catalog.Find(f)
	var out []FrameSize
	for _, s := range fm.Sizes {
		out = append(out, s.FrameSize)
	}
	return out, nil
}

func (d *FakeDevice) FrameIntervals(f capture.PixelFormat, w, h int) ([]FrameInterval, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return nil, err
	}
	fm, _ := d.Catalog.Find(f)
	for _, s := range fm.Sizes {
		if s.Contains(w, h) {
			return s.Intervals, nil
		}
	}
	return nil, nil
}

// SetFormat settles like a driver: an unknown format becomes the first
// one, an unknown size the first size of the format.
func (d *FakeDevice) SetFormat(f capture.PixelFormat, w, h int) (PixFormat, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return PixFormat{}, err
	}
	if d.streaming {
		return PixFormat{}, unix.EBUSY
	}
	if len(d.Catalog) == 0 {
		return PixFormat{}, unix.EINVAL
	}
	fm, ok := d.Catalog.Find(f)
	if !ok {
		fm = d.Catalog[0]
	}
	if len(fm.Sizes) > 0 && !slicesContainsSize(fm.Sizes, w, h) {
		w, h = fm.Sizes[0].MinWidth, fm.Sizes[0].MinHeight
	}
	p := PixFormat{Format: fm.Format, Width: w, Height: h}
	if n := rawSize(fm.Format, w, h); n > 0 {
		p.BytesPerLine = rawStride(fm.Format, w) + d.Padding
		p.SizeImage = n + d.Padding*h
	} else {
		p.SizeImage = w * h
	}
	d.format = p
	return p, nil
}

func slicesContainsSize(ss []SizeModes, w, h int) bool {
	for _, s := range ss {
		if s.Contains(w, h) {
			return true
		}
	}
	return false
}

func (d *FakeDevice) SetFrameRate(fps int) (Fract, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return Fract{}, err
	}
	switch {
	case d.FixedFPS < 0:
		return Fract{}, nil
	case d.FixedFPS > 0:
		fps = d.FixedFPS
	}
	return Fract{1, uint32(fps)}, nil
}

func (d *FakeDevice) Controls() ([]ControlInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.ControlList, nil
}

func (d *FakeDevice) SetControl(id uint32, value int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	for _, c := range d.ControlList {
		if c.ID == id {
			d.set = append(d.set, ControlSetting{Name: c.Name, Value: int64(value)})
			return nil
		}
	}
	return unix.EINVAL
}

func (d *FakeDevice) Start(n int) ([][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.streaming || d.format.Width == 0 {
		return nil, unix.EBUSY
	}
	d.bufs = make([][]byte, n)
	for i := range d.bufs {
		d.bufs[i] = make([]byte, d.format.SizeImage)
		d.queued = append(d.queued, i)
	}
	d.streaming = true
	return d.bufs, nil
}

func (d *FakeDevice) Wait(time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failErr != nil {
		return ErrGone
	}
	if err := d.check(); err != nil {
		return err
	}
	if d.AutoCapture {
		d.capture()
	}
	if len(d.done) > 0 {
		return nil
	}
	return ErrTimeout
}

func (d *FakeDevice) Dequeue(b *Buffer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if len(d.done) == 0 {
		return ErrNotReady
	}
	*b = d.done[0]
	d.done = d.done[:copy(d.done, d.done[1:])]
	return nil
}

func (d *FakeDevice) Queue(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if i < 0 || i >= len(d.bufs) {
		return unix.EINVAL
	}
	for _, q := range d.queued {
		if q == i {
			return fmt.Errorf("fake: buffer %d queued twice: %w", i, unix.EINVAL)
		}
	}
	d.queued = append(d.queued, i)
	return nil
}

func (d *FakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return unix.EBADF
	}
	d.closed = true
	d.streaming = false
	return nil
}
