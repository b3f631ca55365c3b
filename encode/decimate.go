package encode

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// MaxFramerate is the highest frame rate SetFramerate accepts.
const MaxFramerate = 1000

// ErrFramerate is returned for a frame rate outside 1..MaxFramerate.
var ErrFramerate = errors.New("encode: frame rate out of range")

// Decimator lowers a frame rate by dropping frames, deciding from each
// frame's capture timestamp alone, so the same timestamps always give the
// same choice. Frames are kept on a grid of one period (1/rate) that
// advances by exactly one period per kept frame, so the kept rate averages
// the target. A frame up to half a period early counts as on time (capture
// jitter never drops a frame at a target at or above the source's rate).
// The grid never lags a kept frame by more than half a period, so a pause
// in capture is not made up for with a burst afterwards; when timestamps go
// backwards (a restarted source) the grid restarts at the next frame.
//
// The zero Decimator keeps every frame. SetRate may be called from any
// goroutine; Keep from one goroutine (the encoder's).
type Decimator struct {
	rate atomic.Int32 // target frames per second; 0 keeps every frame

	applied  int32         // rate the grid below is for
	started  bool          // a frame has been kept since the last reset
	due      time.Duration // time of the next grid point
	lastKept time.Duration
}

// SetRate sets the target frame rate, 1..MaxFramerate, from the next frame.
func (d *Decimator) SetRate(fps int) error {
	if fps < 1 || fps > MaxFramerate {
		return fmt.Errorf("%w: %d (want 1..%d)", ErrFramerate, fps, MaxFramerate)
	}
	d.rate.Store(int32(fps))
	return nil
}

// Unlimit makes the decimator keep every frame again.
func (d *Decimator) Unlimit() { d.rate.Store(0) }

// Rate reports the target frame rate, 0 when every frame is kept.
func (d *Decimator) Rate() int { return int(d.rate.Load()) }

// Keep reports whether the frame captured at ts is to be encoded.
func (d *Decimator) Keep(ts time.Duration) bool {
	r := d.rate.Load()
	if r <= 0 {
		d.applied, d.started = 0, false
		return true
	}
	period := time.Second / time.Duration(r)
	switch {
	case !d.started || ts < d.lastKept:
		d.due = ts
	case r != d.applied:
		// A new rate: the next frame is due one new period after the
		// last kept one.
		d.due = d.lastKept + period
	}
	d.applied = r
	if d.started && ts < d.due-period/2 {
		return false
	}
	d.started = true
	d.lastKept = ts
	d.due = max(d.due+period, ts+period/2)
	return true
}
