// Package filesrc replays a file as if it were a camera that already
// encodes: an H.264 Annex-B elementary stream or a concatenated MJPEG file
// (JPEG images back to back), looped forever in real time at a configured
// frame rate, without re-encoding.
//
// The format is detected from the content. The whole file is loaded once
// (at most MaxFileSize bytes) and split into frames; the frames handed out
// are slices of that buffer, so replay does not copy or allocate.
package filesrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/camagent/camagent/capture"
)

// Errors returned by Open and Next.
var (
	ErrFPS      = errors.New("filesrc: unsupported frame rate")
	ErrTooLarge = errors.New("filesrc: file too large")
	ErrFormat   = errors.New("filesrc: unrecognized file content")
	ErrStream   = errors.New("filesrc: unusable stream")
	ErrClosed   = errors.New("filesrc: source closed")

	errUnknown = errors.New("neither H.264 nor MJPEG")
)

// Limits.
const (
	MaxFileSize    = 512 << 20
	MinFPS, MaxFPS = 1, 120
	// frameSlots is the number of reusable Frame structs. A consumer
	// holding more frames than this at once gets freshly allocated ones.
	frameSlots = 8
)

// Config describes the replay. Zero fields take the defaults noted.
type Config struct {
	// Path is the file to replay: H.264 Annex-B or concatenated JPEGs.
	Path string
	// FPS is the replay rate (default 25), MinFPS..MaxFPS.
	FPS int
	// Now reads the monotonic clock frames are stamped with
	// (default capture.Monotonic).
	Now func() time.Duration
	// Sleep waits for d on the clock Now reads, or until ctx is done
	// (default: a timer). Tests inject a fake that advances a fake Now.
	Sleep func(ctx context.Context, d time.Duration) error
}

// slot is a reusable Frame.
type slot struct {
	frame   capture.Frame
	held    atomic.Bool
	release func()
}

// Source replays the frames of a file. It is paced like a driver: frame n
// is due at start + n/FPS, where start is the time of the first call to
// Next, and is stamped with that due time; Sequence is n. After the last
// frame of the file the first one follows, with timestamps and sequence
// numbers still rising.
//
// A consumer more than one frame period late gets the frame due most
// recently: the time slots it missed are skipped (a gap in Sequence) and
// counted by Dropped. Skipping drops time slots, not file content: the
// next frame of the file is delivered, so an H.264 stream stays decodable.
// Frames come in file (decode) order; a stream with B-frames is replayed
// with decode-order timestamps.
//
// Frame data are slices of the loaded file: they stay valid after Release
// (which only recycles the Frame struct) and must not be modified.
//
// Next is meant for one consumer goroutine (concurrent calls are
// serialized); Release, Dropped and Close may be called from any goroutine.
type Source struct {
	mode   capture.Mode
	now    func() time.Duration
	sleep  func(ctx context.Context, d time.Duration) error
	frames [][]byte
	slots  [frameSlots]slot

	done      chan struct{}
	closeOnce sync.Once
	dropped   atomic.Uint64

	mu      sync.Mutex // serializes Next; guards the fields below and the timer
	started bool
	start   time.Duration
	next    uint64 // time slot of the next frame
	cursor  int    // index in frames of the next frame
	timer   *time.Timer
}

var _ capture.Source = (*Source)(nil)

// Open loads and splits the file. Errors name the file and what was expected.
func Open(cfg Config) (*Source, error) {
	if cfg.FPS == 0 {
		cfg.FPS = 25
	}
	if cfg.FPS < MinFPS || cfg.FPS > MaxFPS {
		return nil, fmt.Errorf("%w: %d (want %d..%d)", ErrFPS, cfg.FPS, MinFPS, MaxFPS)
	}
	if cfg.Now == nil {
		cfg.Now = capture.Monotonic
	}
	data, err := readFile(cfg.Path)
	if err != nil {
		return nil, err
	}
	frames, mode, err := parse(data)
	if errors.Is(err, errUnknown) {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, cfg.Path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStream, cfg.Path, err)
	}
	mode.FPS = cfg.FPS
	s := &Source{
		mode:   mode,
		now:    cfg.Now,
		sleep:  cfg.Sleep,
		frames: frames,
		done:   make(chan struct{}),
	}
	if s.sleep == nil {
		s.timer = time.NewTimer(time.Hour)
		s.timer.Stop()
		s.sleep = s.timerSleep
	}
	for i := range s.slots {
		sl := &s.slots[i]
		sl.release = func() { sl.held.Store(false) }
	}
	return s, nil
}

// readFile reads at most MaxFileSize bytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("filesrc: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrTooLarge, path, st.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("filesrc: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, path, MaxFileSize)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s is empty (want H.264 Annex-B or concatenated JPEGs)", ErrFormat, path)
	}
	return data, nil
}

// parse detects the format of data and splits it into frames.
func parse(data []byte) ([][]byte, capture.Mode, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0, 0, 1}) || bytes.HasPrefix(data, []byte{0, 0, 0, 1}):
		return parseH264(data)
	case bytes.HasPrefix(data, soi):
		frames, w, h, _, err := splitMJPEG(data)
		if err != nil {
			return nil, capture.Mode{}, fmt.Errorf("MJPEG: %w", err)
		}
		if w <= 0 || h <= 0 {
			return nil, capture.Mode{}, fmt.Errorf("MJPEG: first image has size %dx%d", w, h)
		}
		return frames, capture.Mode{Format: capture.MJPG, Width: w, Height: h}, nil
	}
	n := min(len(data), 4)
	return nil, capture.Mode{}, fmt.Errorf("%w: starts with % x, want an H.264 Annex-B start code (00 00 01 or 00 00 00 01) or a JPEG SOI (ff d8)",
		errUnknown, data[:n])
}

func parseH264(data []byte) ([][]byte, capture.Mode, error) {
	aus, spsNAL, err := splitAnnexB(data)
	if err != nil {
		return nil, capture.Mode{}, fmt.Errorf("H.264: %w", err)
	}
	if spsNAL == nil {
		return nil, capture.Mode{}, fmt.Errorf("H.264: no SPS in the stream")
	}
	var sps h264.SPS
	if err := sps.Unmarshal(spsNAL); err != nil {
		return nil, capture.Mode{}, fmt.Errorf("H.264: bad SPS: %w", err)
	}
	w, h := sps.Width(), sps.Height()
	if w <= 0 || h <= 0 {
		return nil, capture.Mode{}, fmt.Errorf("H.264: SPS gives size %dx%d", w, h)
	}
	return aus, capture.Mode{Format: capture.H264, Width: w, Height: h}, nil
}

// Mode reports the stream's format and size and the replay rate.
func (s *Source) Mode() capture.Mode { return s.mode }

// Frames is the number of frames in one pass over the file.
func (s *Source) Frames() int { return len(s.frames) }

// Dropped counts the time slots skipped because the consumer was late.
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// Close stops the source: a blocked Next returns ErrClosed (when waiting on
// the default clock), and so do later calls.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

// Next waits for the next frame to fall due and returns it.
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
	now := s.now()
	if !s.started {
		s.started, s.start = true, now
	}
	n := s.next
	due := s.due(n)
	if now-due > s.period() {
		n = s.frameAt(now)
		due = s.due(n)
		s.dropped.Add(n - s.next)
	}
	if wait := due - now; wait > 0 {
		if err := s.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	data := s.frames[s.cursor]
	s.cursor++
	if s.cursor == len(s.frames) {
		s.cursor = 0
	}
	s.next = n + 1
	seq := uint32(n)
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.held.CompareAndSwap(false, true) {
			sl.frame = *capture.NewFrame(data, due, seq, s.mode, sl.release)
			return &sl.frame, nil
		}
	}
	return capture.NewFrame(data, due, seq, s.mode, nil), nil
}

func (s *Source) period() time.Duration { return time.Second / time.Duration(s.mode.FPS) }

// due is when time slot n falls due, computed without accumulating rounding.
func (s *Source) due(n uint64) time.Duration {
	fps := uint64(s.mode.FPS)
	return s.start + time.Duration(n/fps)*time.Second + time.Duration(n%fps)*time.Second/time.Duration(fps)
}

// frameAt is the latest time slot due at t (t >= start).
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
