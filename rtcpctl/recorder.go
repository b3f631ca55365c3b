package rtcpctl

import (
	"sync"
	"time"

	"github.com/camagent/camagent/stream/report"
)

// KeyframeInterval is the shortest time between two keyframe requests the
// Recorder forwards to the encoder. Requests in between are counted but
// dropped: the keyframe already on its way answers them too.
const KeyframeInterval = 500 * time.Millisecond

// SessionStats is what a Recorder knows about one viewer session.
type SessionStats struct {
	// Last is the most recent receiver report about our stream.
	Last report.ReceiverReport
	// Reports counts the receiver reports received.
	Reports int
	// KeyframeRequests counts the PLI and FIR requests received, forwarded
	// or not.
	KeyframeRequests int
	// Updated is when the session last reported anything, by the Recorder's
	// clock.
	Updated time.Time
}

// Recorder keeps the latest RTCP figures of each session and forwards
// keyframe requests to the encoder, at most one per KeyframeInterval. It is
// safe for concurrent use.
//
// Calls about a session after SessionClosed start a new record for it, so
// the caller should stop a session's RTCP reader before closing it.
type Recorder struct {
	// Now is the clock, time.Now if nil. Set it before first use.
	Now func() time.Time

	onKeyframe func()

	mu        sync.Mutex
	sessions  map[string]*SessionStats
	forwarded bool      // a keyframe request was forwarded
	lastFwd   time.Time // when
}

// NewRecorder returns a Recorder that calls onKeyframe (which may be nil) on
// PLI or FIR, rate-limited. onKeyframe is called without the Recorder's lock
// held, from the goroutine that reported the request.
func NewRecorder(onKeyframe func()) *Recorder {
	return &Recorder{onKeyframe: onKeyframe, sessions: make(map[string]*SessionStats)}
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// session returns the record of a session, creating it. r.mu is held.
func (r *Recorder) session(name string) *SessionStats {
	st := r.sessions[name]
	if st == nil {
		st = new(SessionStats)
		r.sessions[name] = st
	}
	return st
}

// ReceiverReport records a receiver report block about our stream.
func (r *Recorder) ReceiverReport(session string, rr report.ReceiverReport) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.session(session)
	st.Last = rr
	st.Reports++
	st.Updated = now
}

// KeyframeRequest records a PLI or FIR (kind "pli" or "fir"; other kinds are
// counted the same way) and forwards it to the encoder unless one was
// forwarded less than KeyframeInterval ago.
func (r *Recorder) KeyframeRequest(session string, kind string) {
	now := r.now()
	r.mu.Lock()
	st := r.session(session)
	st.KeyframeRequests++
	st.Updated = now
	// A clock that went backwards (a stepped injected clock) must not
	// suppress requests until it catches up again.
	forward := !r.forwarded || now.Sub(r.lastFwd) >= KeyframeInterval || now.Before(r.lastFwd)
	if forward {
		r.forwarded, r.lastFwd = true, now
	}
	r.mu.Unlock()
	if forward && r.onKeyframe != nil {
		r.onKeyframe()
	}
}

// SessionClosed forgets a session.
func (r *Recorder) SessionClosed(session string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sessions, session)
}

// Snapshot returns a copy of the figures of every open session.
func (r *Recorder) Snapshot() map[string]SessionStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]SessionStats, len(r.sessions))
	for name, st := range r.sessions {
		out[name] = *st
	}
	return out
}
