// Package v4l2 captures frames from a Linux V4L2 camera through mmap
// streaming, keeping the timestamp and sequence number the driver stamped
// on each buffer.
//
// Source negotiates a mode (refusing, in one line that lists what the
// camera gives, a mode it cannot give), sets camera controls, and survives
// the camera being unplugged: it closes the device, reopens it with capped
// exponential backoff, and resumes with the same mode, while Next keeps
// blocking so that the stream's viewers stay connected. The kernel is
// behind the Device interface; FakeDevice stands in for it in tests.
package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

// Errors of Source.
var (
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("v4l2: source closed")
	// ErrStalled: the camera stopped giving frames without an error; it
	// is reopened like an unplugged one.
	ErrStalled = errors.New("v4l2: camera stalled")
)

// Defaults and limits of Config.
const (
	DefaultDevice     = "/dev/video0"
	DefaultBuffers    = 4
	MinBuffers        = 2
	MaxBuffers        = 16
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	DefaultPoll       = 100 * time.Millisecond
)

// Config describes the camera and the mode wanted. Zero fields take the
// defaults noted.
type Config struct {
	Device string // default DefaultDevice
	// Format is the pixel format the user named; 0 picks the first of
	// Prefer the camera gives at the size and rate asked for.
	Format capture.PixelFormat
	Prefer []capture.PixelFormat // default Preference("h264")
	Width  int                   // required
	Height int                   // required
	FPS    int                   // required
	// Buffers is how many buffers the driver fills in turn (default 4;
	// MinBuffers..MaxBuffers). Few buffers keep latency low.
	Buffers int
	// Controls are set after each open, in order.
	Controls []ControlSetting
	Logger   *slog.Logger
	// Open opens the device (default OpenDevice).
	Open func(path string) (Device, error)
	// Now reads CLOCK_MONOTONIC (default capture.Monotonic); used for
	// frames whose driver gives no monotonic timestamp, and for logging
	// how long the camera was gone.
	Now func() time.Duration
	// Sleep waits d or until ctx is done (default: a timer, also cut
	// short by Close). Tests inject one that advances a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// MinBackoff and MaxBackoff bound the wait between attempts to reopen
	// a lost camera; it doubles from one to the other (default 100 ms, 5 s).
	MinBackoff, MaxBackoff time.Duration
	// StallTimeout: a camera that gives no frame for this long, without
	// reporting an error, is treated as lost and reopened (default 10
	// frame periods, at least 5 s).
	StallTimeout time.Duration
	// Poll is the longest a blocked Next waits before checking ctx and
	// Close again (default 100 ms).
	Poll time.Duration
}

func (c *Config) setDefaults() {
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Prefer == nil {
		c.Prefer = Preference("h264")
	}
	if c.Buffers == 0 {
		c.Buffers = DefaultBuffers
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Open == nil {
		c.Open = OpenDevice
	}
	if c.Now == nil {
		c.Now = capture.Monotonic
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.StallTimeout <= 0 && c.FPS > 0 {
		c.StallTimeout = max(5*time.Second, 10*time.Second/time.Duration(c.FPS))
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
}

func (c *Config) validate() error {
	if c.Width <= 0 || c.Height <= 0 || c.FPS <= 0 {
		return fmt.Errorf("v4l2: invalid mode %dx%d @%d fps", c.Width, c.Height, c.FPS)
	}
	if c.Buffers < MinBuffers || c.Buffers > MaxBuffers {
		return fmt.Errorf("v4l2: invalid buffer count %d, want %d to %d", c.Buffers, MinBuffers, MaxBuffers)
	}
	if len(c.Controls) > MaxControlSettings {
		return fmt.Errorf("%w: more than %d settings", ErrControl, MaxControlSettings)
	}
	return nil
}

// Stats are a Source's counters.
type Stats struct {
	Frames uint64 // frames handed to the consumer
	// DriverDrops counts frames the driver dropped: gaps in its sequence
	// numbers (for instance while it had no free buffer).
	DriverDrops uint64
	// Skipped counts buffers dequeued but not handed out: a ready frame
	// superseded by a newer one, a frame that arrived while the consumer
	// held all buffers but one, or a buffer the driver flagged as bad.
	Skipped uint64
	// Reopens counts how often the camera came back after being lost.
	Reopens uint64
}

// Source is a V4L2 camera as a capture.Source.
//
// Buffers: the driver fills Config.Buffers mmap'ed buffers in turn. Next
// dequeues every buffer that is ready and hands out the newest, giving the
// older ones straight back to the driver (counted in Skipped), so a slow
// consumer always gets the latest picture and never sees stale queued ones
// (H.264 from the camera is the exception: every frame is handed out in
// order, since a missing frame would break the ones predicted from it). A
// frame's Data is the driver's buffer itself, not a copy; Release gives it
// back. A consumer may hold several frames, but never the last buffer: when
// it holds all but one, new frames are dequeued and requeued at once
// (skipped) until it releases one, so the driver always has a buffer to
// fill. The pipeline releases each frame right after encoding it.
//
// Next is meant for one consumer goroutine (concurrent calls are
// serialized); Release, Stats and Close may be called from any goroutine.
type Source struct {
	cfg       Config
	log       *slog.Logger
	mode      capture.Mode
	frameSize int  // bytes of a raw frame; 0 for compressed formats
	keepAll   bool // hand out every frame in order (H.264)
	codec     codecControls
	done      chan struct{}

	nextMu      sync.Mutex // serializes Next; guards the fields below
	restart     bool       // the next frame is the first after a reopen
	warnedClock bool       // the no-monotonic-timestamp warning was logged
	haveSeq     bool
	lastSeq     uint32
	lastFrame   time.Duration // Now() when a buffer was last dequeued
	goneAt      time.Duration
	dq, cand    Buffer

	mu        sync.Mutex // guards sess, closed, codecVals and every session's state
	sess      *session
	closed    bool
	codecVals []codecValue // codec controls set, to set again after a reopen

	frames, driverDrops, skipped, reopens atomic.Uint64
}

var _ capture.Source = (*Source)(nil)

// session is one opening of the device, with its mapped buffers.
type session struct {
	src     *Source
	dev     Device
	slots   []slot
	held    int   // slots handed out and not yet released
	polling bool  // Next is in dev.Wait: do not close dev under it
	dead    bool  // lost or closed: nothing more is queued
	shut    bool  // dev is closed
	qerr    error // a Queue from Release failed
}

// slot is one buffer and the frame that describes it when handed out.
type slot struct {
	sess    *session
	index   int
	data    []byte
	held    bool
	frame   capture.Frame
	release func()
}

// Open opens the camera, negotiates the mode, sets the controls and starts
// streaming. A mode the camera cannot give is an ErrMode error naming what
// it can give.
func Open(cfg Config) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	sess, err := s.open(true)
	if err != nil {
		return nil, err
	}
	s.sess = sess
	s.log.Info("camera streaming", "device", cfg.Device, "mode", s.mode.String(), "buffers", len(sess.slots))
	return s, nil
}

// Mode reports the negotiated format, size and rate.
func (s *Source) Mode() capture.Mode { return s.mode }

// Stats returns the counters.
func (s *Source) Stats() Stats {
	return Stats{Frames: s.frames.Load(), DriverDrops: s.driverDrops.Load(), Skipped: s.skipped.Load(), Reopens: s.reopens.Load()}
}

// Dropped counts frames the consumer did not get: DriverDrops + Skipped.
func (s *Source) Dropped() uint64 { return s.driverDrops.Load() + s.skipped.Load() }

// open opens the device and starts it streaming. The first time it
// negotiates the mode; later (after a loss) it asks for the same mode again.
func (s *Source) open(first bool) (*session, error) {
	c := &s.cfg
	dev, err := c.Open(c.Device)
	if err != nil {
		return nil, err
	}
	sess, err := s.start(dev, first)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return sess, nil
}

func (s *Source) start(dev Device, first bool) (*session, error) {
	c := &s.cfg
	req := Request{Format: c.Format, Prefer: c.Prefer, Width: c.Width, Height: c.Height, FPS: c.FPS}
	format := s.mode.Format
	if first {
		cat, err := Describe(dev, c.Width, c.Height)
		if err != nil {
			return nil, err
		}
		if format, err = Choose(cat, req, c.Device); err != nil {
			return nil, err
		}
	}
	req.Format = format
	refuse := func(why string) error {
		cat, err := Describe(dev, c.Width, c.Height)
		if err != nil {
			return fmt.Errorf("%w: %s cannot capture %s (%s)", ErrMode, c.Device, req, why)
		}
		return fmt.Errorf("%w: %s cannot capture %s (%s); it gives %s", ErrMode, c.Device, req, why, Offered(cat))
	}
	pf, err := dev.SetFormat(format, c.Width, c.Height)
	if err != nil {
		return nil, err
	}
	if pf.Format != format || pf.Width != c.Width || pf.Height != c.Height {
		return nil, refuse(fmt.Sprintf("VIDIOC_S_FMT gave %dx%d %s", pf.Width, pf.Height, pf.Format))
	}
	size := rawSize(format, c.Width, c.Height)
	if size > 0 && pf.BytesPerLine != 0 && pf.BytesPerLine != rawStride(format, c.Width) {
		return nil, refuse(fmt.Sprintf("the driver pads lines to %d bytes", pf.BytesPerLine))
	}
	fps := c.FPS
	tpf, err := dev.SetFrameRate(c.FPS)
	if err != nil {
		return nil, err
	}
	if got := roundFPS(tpf); got != 0 && got != c.FPS {
		return nil, refuse(fmt.Sprintf("VIDIOC_S_PARM gave %s fps", fpsString(tpf.FPS())))
	} else if got == 0 && first {
		s.log.Warn("the driver cannot set the frame rate; assuming the rate asked for", "device", c.Device, "fps", fps)
	}
	if err := applyControls(dev, c.Controls, c.Device); err != nil {
		return nil, err
	}
	bufs, err := dev.Start(c.Buffers)
	if err != nil {
		return nil, err
	}
	if len(bufs) < MinBuffers {
		return nil, fmt.Errorf("v4l2: %s gave %d buffers, want at least %d", c.Device, len(bufs), MinBuffers)
	}
	if first {
		s.mode = capture.Mode{Format: format, Width: c.Width, Height: c.Height, FPS: fps}
		s.frameSize = size
		s.keepAll = format == capture.H264
		if format.Compressed() {
			if infos, err := dev.Controls(); err != nil {
				s.log.Debug("cannot list the controls; assuming no codec controls", "device", c.Device, "err", err)
			} else {
				s.codec = findCodecControls(infos)
			}
		}
	}
	s.lastFrame = c.Now()
	sess := &session{src: s, dev: dev, slots: make([]slot, len(bufs))}
	for i, b := range bufs {
		sl := &sess.slots[i]
		sl.sess, sl.index, sl.data = sess, i, b
		sl.release = sl.put
	}
	return sess, nil
}

// Next returns the newest frame, waiting for one if none is ready. While
// the camera is gone it keeps waiting (and reopening it) until ctx is done
// or the source is closed; the first frame after a reopen has Restart set.
func (s *Source) Next(ctx context.Context) (*capture.Frame, error) {
	s.nextMu.Lock()
	defer s.nextMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		closed, sess := s.closed, s.sess
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if sess == nil {
			if err := s.reopen(ctx); err != nil {
				return nil, err
			}
			continue
		}
		f, err := s.read(ctx, sess)
		if err == nil {
			return f, nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return nil, err
		}
		s.lose(sess, err)
	}
}

// read waits for a frame from sess.
func (s *Source) read(ctx context.Context, sess *session) (*capture.Frame, error) {
	for {
		f, err := s.take(sess)
		if f != nil || err != nil {
			return f, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if sess.dead {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		sess.polling = true
		s.mu.Unlock()

		err = sess.dev.Wait(s.cfg.Poll)

		s.mu.Lock()
		sess.polling = false
		s.closeIfIdle(sess)
		s.mu.Unlock()
		if err != nil && err != ErrTimeout {
			return nil, err
		}
		if err == ErrTimeout {
			if d := s.cfg.Now() - s.lastFrame; d > s.cfg.StallTimeout {
				return nil, fmt.Errorf("%w: no frame for %v", ErrStalled, d.Round(time.Millisecond))
			}
		}
	}
}

// take dequeues the ready buffers and hands out the newest as a frame; nil
// when there is none to hand out.
func (s *Source) take(sess *session) (*capture.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.dead {
		return nil, ErrClosed
	}
	if sess.qerr != nil {
		return nil, sess.qerr
	}
	got := -1
	for range sess.slots {
		err := sess.dev.Dequeue(&s.dq)
		if err == ErrNotReady {
			break
		}
		if err != nil {
			s.requeue(sess, got)
			return nil, err
		}
		if s.dq.Index < 0 || s.dq.Index >= len(sess.slots) || sess.slots[s.dq.Index].held {
			s.requeue(sess, got)
			return nil, fmt.Errorf("v4l2: VIDIOC_DQBUF gave buffer %d, which is not queued", s.dq.Index)
		}
		s.count(s.dq.Sequence)
		s.lastFrame = s.cfg.Now()
		if !s.usable(&s.dq) {
			s.skipped.Add(1)
			s.requeue(sess, s.dq.Index)
			continue
		}
		if got >= 0 {
			s.skipped.Add(1)
			s.requeue(sess, got)
		}
		got, s.cand = s.dq.Index, s.dq
		if s.keepAll {
			break
		}
	}
	if got < 0 {
		return nil, nil
	}
	if sess.held >= len(sess.slots)-1 {
		// Handing it out would leave the driver no buffer to fill.
		s.skipped.Add(1)
		s.requeue(sess, got)
		return nil, nil
	}
	return s.hand(sess, got), nil
}

// count notes a dequeued sequence number, counting the driver's drops.
func (s *Source) count(seq uint32) {
	if s.haveSeq && seq != s.lastSeq+1 {
		s.driverDrops.Add(uint64(seq - s.lastSeq - 1))
	}
	s.haveSeq, s.lastSeq = true, seq
}

// usable reports whether a dequeued buffer holds a whole frame.
func (s *Source) usable(b *Buffer) bool {
	if b.Flags&bufFlagError != 0 || b.BytesUsed == 0 {
		return false
	}
	return s.frameSize == 0 || b.BytesUsed >= s.frameSize
}

// hand turns dequeued buffer i (described by s.cand) into a frame.
func (s *Source) hand(sess *session, i int) *capture.Frame {
	sl := &sess.slots[i]
	b := &s.cand
	ts := b.Timestamp
	if !b.monotonic() {
		ts = s.cfg.Now()
		if !s.warnedClock {
			s.warnedClock = true
			s.log.Warn("the driver does not stamp frames with CLOCK_MONOTONIC; using the time each frame is dequeued",
				"device", s.cfg.Device, "flags", fmt.Sprintf("0x%x", b.Flags))
		}
	}
	n := b.BytesUsed
	if s.frameSize > 0 {
		n = s.frameSize
	}
	sl.frame = *capture.NewFrame(sl.data[:n], ts, b.Sequence, s.mode, sl.release)
	sl.frame.Restart = s.restart
	s.restart = false
	sl.held = true
	sess.held++
	s.frames.Add(1)
	return &sl.frame
}

// requeue gives buffer i back to the driver (i < 0: nothing). Callers hold s.mu.
func (s *Source) requeue(sess *session, i int) {
	if i < 0 || sess.dead {
		return
	}
	if err := sess.dev.Queue(i); err != nil && sess.qerr == nil {
		sess.qerr = err
	}
}

// put is a slot's Release.
func (sl *slot) put() {
	sess := sl.sess
	s := sess.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sl.held {
		return
	}
	sl.held = false
	sess.held--
	if sess.dead {
		s.closeIfIdle(sess)
		return
	}
	s.requeue(sess, sl.index)
}

// closeIfIdle closes a dead session's device once no frame of it is held
// and no poll is using it. Callers hold s.mu.
func (s *Source) closeIfIdle(sess *session) {
	if sess.dead && !sess.shut && sess.held == 0 && !sess.polling {
		sess.shut = true
		sess.dev.Close()
	}
}

// lose retires a session whose device failed.
func (s *Source) lose(sess *session, err error) {
	s.mu.Lock()
	if s.sess == sess {
		s.sess = nil
	}
	sess.dead = true
	s.closeIfIdle(sess)
	s.mu.Unlock()
	s.goneAt = s.cfg.Now()
	s.restart = true
	s.haveSeq = false
	s.log.Warn("camera lost; reopening it until it is back", "device", s.cfg.Device, "err", err)
}

// reopen tries to open the camera again, with capped exponential backoff
// (MinBackoff, doubling up to MaxBackoff), until it streams, ctx is done or
// the source is closed.
func (s *Source) reopen(ctx context.Context) error {
	delay := s.cfg.MinBackoff
	lastErr := ""
	for {
		// Wait before each attempt, the first too: a camera being
		// re-enumerated, or a driver module being unloaded, is not
		// grabbed again at once.
		if err := s.sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, s.cfg.MaxBackoff)
		sess, err := s.open(false)
		if err == nil {
			s.mu.Lock()
			if s.closed {
				sess.dead = true
				s.closeIfIdle(sess)
				s.mu.Unlock()
				return ErrClosed
			}
			s.sess = sess
			s.restoreCodecControls(sess)
			s.mu.Unlock()
			s.reopens.Add(1)
			s.log.Info("camera is back", "device", s.cfg.Device, "gone", (s.cfg.Now() - s.goneAt).Round(time.Millisecond).String())
			return nil
		}
		// The camera being absent is expected; a camera that is back but
		// unusable (another mode, a control refused, busy) is worth
		// saying, once for each different reason.
		if !absent(err) && err.Error() != lastErr {
			s.log.Warn("camera is back but unusable; still retrying", "device", s.cfg.Device, "err", err)
		}
		lastErr = err.Error()
	}
}

// absent reports whether err means the device node is not there (yet).
func absent(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO)
}

func (s *Source) sleep(ctx context.Context, d time.Duration) error {
	if s.cfg.Sleep != nil {
		if err := s.cfg.Sleep(ctx, d); err != nil {
			return err
		}
	} else {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
		}
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
		return nil
	}
}

// Close stops streaming and closes the device once every frame handed out
// has been released. A blocked Next returns ErrClosed within Config.Poll.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	if sess := s.sess; sess != nil {
		s.sess = nil
		sess.dead = true
		s.closeIfIdle(sess)
	}
	return nil
}
