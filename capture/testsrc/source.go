// Package testsrc is the built-in test pattern: a capture.Source that behaves
// like a webcam delivering raw frames, paced by a clock, with the frame
// number drawn into each picture both for people (digits) and for machines
// (a barcode that survives JPEG and H.264, read back by ReadFrameNumber).
package testsrc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camagent/camagent/capture"
)

// Errors returned by New and Next.
var (
	ErrSize    = errors.New("testsrc: unsupported frame size")
	ErrFPS     = errors.New("testsrc: unsupported frame rate")
	ErrFormat  = errors.New("testsrc: unsupported pixel format")
	ErrBuffers = errors.New("testsrc: unsupported buffer count")
	ErrClosed  = errors.New("testsrc: source closed")
)

// Limits on Config.
const (
	MinWidth, MaxWidth   = 64, 4096
	MinHeight, MaxHeight = 64, 2160
	MinFPS, MaxFPS       = 1, 120
	MinBuffers           = 2
	MaxBuffers           = 32
)

// Config describes the pattern. Zero fields take the defaults noted.
type Config struct {
	Width  int // default 640; even, MinWidth..MaxWidth
	Height int // default 480; even, MinHeight..MaxHeight
	FPS    int // default 30; MinFPS..MaxFPS
	// Format is capture.YU12 (default), capture.NV12 or capture.YUYV.
	Format capture.PixelFormat
	// Buffers is the number of frame buffers in the ring (default 4).
	Buffers int
	// Now reads the monotonic clock frames are stamped with
	// (default capture.Monotonic).
	Now func() time.Duration
	// Sleep waits for d on the clock Now reads, or until ctx is done
	// (default: a timer). Tests inject a fake that advances a fake Now.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (c *Config) setDefaults() {
	if c.Width == 0 {
		c.Width = 640
	}
	if c.Height == 0 {
		c.Height = 480
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.Format == 0 {
		c.Format = capture.YU12
	}
	if c.Buffers == 0 {
		c.Buffers = 4
	}
	if c.Now == nil {
		c.Now = capture.Monotonic
	}
}

func (c *Config) validate() error {
	if c.Width < MinWidth || c.Width > MaxWidth || c.Height < MinHeight || c.Height > MaxHeight ||
		c.Width%2 != 0 || c.Height%2 != 0 {
		return fmt.Errorf("%w: %dx%d (want even, %d..%d x %d..%d)", ErrSize,
			c.Width, c.Height, MinWidth, MaxWidth, MinHeight, MaxHeight)
	}
	if c.FPS < MinFPS || c.FPS > MaxFPS {
		return fmt.Errorf("%w: %d (want %d..%d)", ErrFPS, c.FPS, MinFPS, MaxFPS)
	}
	switch c.Format {
	case capture.YU12, capture.NV12, capture.YUYV:
	default:
		return fmt.Errorf("%w: %s", ErrFormat, c.Format)
	}
	if c.Buffers < MinBuffers || c.Buffers > MaxBuffers {
		return fmt.Errorf("%w: %d (want %d..%d)", ErrBuffers, c.Buffers, MinBuffers, MaxBuffers)
	}
	return nil
}

// buffer is one slot of the ring.
type buffer struct {
	data    []byte
	frame   capture.Frame
	held    atomic.Bool // handed out and not yet released
	release func()
	st      drawn
}

// Source generates the pattern. It is paced like a driver: frame n is due at
// start + n/FPS, where start is the time of the first call to Next, and is
// stamped with that ideal due time. A consumer late by up to Buffers frame
// periods gets the frames it missed at once, in order, as a driver's queued
// buffers would hold them; one later than that gets the most recent due
// frame, and the frames it missed are skipped (a gap in Sequence) and counted
// by Dropped, as a driver with no queued buffer would drop them.
//
// Frames come from a ring of Config.Buffers preallocated buffers. When the
// consumer holds all of them, Next blocks until one is released (or ctx is
// done or the source is closed); the frames that fall due meanwhile are
// skipped as above. The *capture.Frame Next returns belongs to its buffer
// and is reused once released: do not touch it after Release.
//
// Next is meant for one consumer goroutine (concurrent calls are serialized);
// Release, Dropped and Close may be called from any goroutine.
type Source struct {
	mode  capture.Mode
	now   func() time.Duration
	sleep func(ctx context.Context, d time.Duration) error

	pat  *pattern
	bufs []buffer
	free chan int

	done      chan struct{}
	closeOnce sync.Once
	dropped   atomic.Uint64

	mu      sync.Mutex // serializes Next; guards the fields below and the timer
	started bool
	start   time.Duration
	next    uint64 // index of the next frame to deliver
	timer   *time.Timer
}

var _ capture.Source = (*Source)(nil)

// New validates cfg and allocates the pattern and its buffers.
func New(cfg Config) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pat, ok := newPattern(cfg.Format, cfg.Width, cfg.Height)
	if !ok {
		return nil, fmt.Errorf("%w: %dx%d has no room for the pattern", ErrSize, cfg.Width, cfg.Height)
	}
	s := &Source{
		mode:  capture.Mode{Format: cfg.Format, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS},
		now:   cfg.Now,
		sleep: cfg.Sleep,
		pat:   pat,
		bufs:  make([]buffer, cfg.Buffers),
		free:  make(chan int, cfg.Buffers),
		done:  make(chan struct{}),
	}
	if s.sleep == nil {
		s.timer = time.NewTimer(time.Hour)
		s.timer.Stop()
		s.sleep = s.timerSleep
	}
	for i := range s.bufs {
		b := &s.bufs[i]
		b.data = make([]byte, pat.cv.size)
		b.release = func() {
			if b.held.CompareAndSwap(true, false) {
				s.free <- i
			}
		}
		s.free <- i
	}
	return s, nil
}

// Mode reports the pattern's format, size and rate.
func (s *Source) Mode() capture.Mode { return s.mode }

// Dropped counts the frames skipped because the consumer was late.
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Close stops the source: a blocked Next returns ErrClosed (when waiting
// on the default clock or for a buffer), and so do later calls.
// Frames already handed out stay valid until released.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

// Next waits for the next frame to fall due, draws it and returns it.
func (s *Source) Next(ctx context.Context) (*capture.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return nil, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var i int
	select {
	case i = <-s.free:
	default:
		select {
		case i = <-s.free:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, ErrClosed
		}
	}
	b := &s.bufs[i]

	now := s.now()
	if !s.started {
		s.started, s.start = true, now
	}
	n := s.next
	due := s.due(n)
	// Like a driver with Buffers queued buffers, frames are lost only when
	// the consumer is so late that every buffer would have been filled; a
	// shorter hiccup is caught up from the "queue" without loss.
	if now-due > time.Duration(len(s.bufs))*s.period() {
		n = s.frameAt(now)
		due = s.due(n)
		s.dropped.Add(n - s.next)
	}
	seq := uint32(n)
	s.pat.draw(b.data, &b.st, seq)
	if wait := due - now; wait > 0 {
		if err := s.sleep(ctx, wait); err != nil {
			s.free <- i
			return nil, err
		}
	}
	s.next = n + 1
	b.held.Store(true)
	b.frame = *capture.NewFrame(b.data, due, seq, s.mode, b.release)
	return &b.frame, nil
}

func (s *Source) period() time.Duration { return time.Second / time.Duration(s.mode.FPS) }

// due is when frame n falls due, computed without accumulating rounding.
func (s *Source) due(n uint64) time.Duration {
	fps := uint64(s.mode.FPS)
	return s.start + time.Duration(n/fps)*time.Second + time.Duration(n%fps)*time.Second/time.Duration(fps)
}

// frameAt is the latest frame due at t (t >= start).
func (s *Source) frameAt(t time.Duration) uint64 {
	d := uint64(t - s.start)
	fps := uint64(s.mode.FPS)
	sec := uint64(time.Second)
	return d/sec*fps + d%sec*fps/sec
}

// timerSleep is the default Sleep, reusing one timer. Callers hold s.mu.
func (s *Source) timerSleep(ctx context.Context, d time.Duration) error {
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	case <-s.done:
		s.timer.Stop()
		return ErrClosed
	}
}
