package rtcpctl

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/stream"
	"github.com/camagent/camagent/stream/report"
)

// The encoder's levers, each a small interface that encode.Tunable
// satisfies. A frame-rate lever may equally be a capture device's.
type (
	BitrateSetter   interface{ SetBitrate(bps int) error }
	QualitySetter   interface{ SetQuality(q int) error }
	FramerateSetter interface{ SetFramerate(fps int) error }
)

// Levers are what the Adapter turns; a nil lever is left alone.
type Levers struct {
	Bitrate   BitrateSetter
	Quality   QualitySetter
	Framerate FramerateSetter
}

// Sessions is what the Adapter needs of the RTSP server.
type Sessions interface {
	Observe(dst []stream.SessionObservation) []stream.SessionObservation
	SetThinning(id string, t stream.Thinning) bool
}

// DefaultInterval is how often the Adapter observes the sessions. Steps
// are paced by the controller (MinStep, BacklogInterval), not by this.
const DefaultInterval = time.Second

// AdapterConfig configures an Adapter.
type AdapterConfig struct {
	Controller Config
	Levers     Levers
	// Enabled false keeps the settings fixed: the Adapter still records
	// reports and forwards keyframe requests.
	Enabled bool
	// OnKeyframe forces a keyframe; PLI and FIR reach it rate-limited.
	OnKeyframe func()
	Interval   time.Duration // default DefaultInterval
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now
}

// Adapter is the plumbing around a Controller: it implements
// stream.Feedback (receiver reports, PLI/FIR), observes the server's
// sessions, runs the controller and turns its decisions into encoder
// settings and per-session thinning, logging one line per change.
type Adapter struct {
	cfg AdapterConfig
	rec *Recorder
	log *slog.Logger

	mu       sync.Mutex
	sessions Sessions
	ctl      *Controller
	rtcp     map[string]*rtcpFigures
	thin     map[string]Thin
	last     Decision
	obs      []stream.SessionObservation
	in       []Observation
}

type rtcpFigures struct {
	reports int
	lossSum float64
	jitter  time.Duration
	rtt     time.Duration
}

// NewAdapter checks cfg. The Adapter needs its Sessions (SetSessions)
// before Run: the server it observes is built with the Adapter as its
// feedback.
func NewAdapter(cfg AdapterConfig) (*Adapter, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctl, err := NewController(cfg.Controller)
	if err != nil {
		return nil, err
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger, ctl: ctl, rtcp: map[string]*rtcpFigures{}, thin: map[string]Thin{}}
	a.rec = NewRecorder(cfg.OnKeyframe)
	a.rec.Now = cfg.Now
	a.last = Decision{Settings: ctl.Settings(), Level: 1, Reason: ctl.Reason()}
	return a, nil
}

// SetSessions sets the server the Adapter observes.
func (a *Adapter) SetSessions(s Sessions) {
	a.mu.Lock()
	a.sessions = s
	a.mu.Unlock()
}

// Recorder is the Adapter's record of the viewers' RTCP.
func (a *Adapter) Recorder() *Recorder { return a.rec }

// ReceiverReport implements stream.Feedback.
func (a *Adapter) ReceiverReport(session string, rr report.ReceiverReport) {
	a.rec.ReceiverReport(session, rr)
	a.mu.Lock()
	f := a.rtcp[session]
	if f == nil {
		f = new(rtcpFigures)
		a.rtcp[session] = f
	}
	f.reports++
	f.lossSum += rr.FractionLost
	f.jitter = rr.Jitter
	if rr.RTT > 0 {
		f.rtt = rr.RTT
	}
	a.mu.Unlock()
}

// KeyframeRequest implements stream.Feedback: PLI and FIR force a
// keyframe, at most one per KeyframeInterval.
func (a *Adapter) KeyframeRequest(session string, kind string) {
	a.rec.KeyframeRequest(session, kind)
}

// SessionClosed implements stream.Feedback.
func (a *Adapter) SessionClosed(session string) {
	a.rec.SessionClosed(session)
	a.mu.Lock()
	delete(a.rtcp, session)
	a.mu.Unlock()
}

// Last is the latest decision: the settings in force, the level, the reason
// for the last change, and every session's observations and level.
func (a *Adapter) Last() Decision {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.last
	d.Sessions = append([]SessionDecision(nil), d.Sessions...)
	return d
}

// Run observes and steps every Interval until ctx is done.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.cfg.Enabled {
		a.log.Info("rate adaptation off: fixed settings", "settings", a.ctl.Settings().String())
		<-ctx.Done()
		return nil
	}
	a.log.Info("rate adaptation on", "targets", a.ctl.Settings().String(),
		"floor", a.ctl.Ladder().At(0).String(), "knobs", a.cfg.Controller.Knobs.String())
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.Step()
		}
	}
}

// Step observes the sessions once, runs the controller and applies its
// decision.
func (a *Adapter) Step() Decision {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sessions == nil {
		return a.last
	}
	a.obs = a.sessions.Observe(a.obs[:0])
	a.in = a.in[:0]
	for _, o := range a.obs {
		if !o.Playing {
			continue
		}
		in := Observation{Session: o.ID, Transport: transportOf(o.Transport),
			OfferedBytes: o.OfferedBytes, DroppedBytes: o.DroppedBytes,
			DroppedFrames: o.DroppedFrames, BacklogBytes: o.BacklogBytes()}
		if f := a.rtcp[o.ID]; f != nil {
			in.Reports, in.LossSum, in.Jitter, in.RTT = f.reports, f.lossSum, f.jitter, f.rtt
		}
		a.in = append(a.in, in)
	}
	d := a.ctl.Update(a.cfg.Now(), a.in)
	if d.Changed {
		a.apply(d.Settings)
		a.log.Info("adapt step", "adapt_level", fmt.Sprintf("%.3f", d.Level), "settings", d.Settings.String(),
			"fps", d.Settings.FPS, "quality", d.Settings.Quality, "bitrate", d.Settings.Bitrate, "reason", d.Reason)
	}
	seen := map[string]bool{}
	for _, s := range d.Sessions {
		seen[s.Session] = true
		if a.thin[s.Session] == s.Thin {
			continue
		}
		if _, known := a.thin[s.Session]; !known && s.Thin == (Thin{KeepOneIn: 1}) {
			a.thin[s.Session] = s.Thin
			continue
		}
		a.thin[s.Session] = s.Thin
		a.sessions.SetThinning(s.Session, stream.Thinning{KeepOneIn: s.Thin.KeepOneIn, KeyframesOnly: s.Thin.KeyframesOnly})
		a.log.Info("adapt thinning", "session", s.Session, "keep_one_in", s.Thin.KeepOneIn,
			"keyframes_only", s.Thin.KeyframesOnly, "adapt_level", fmt.Sprintf("%.3f", s.Level), "reason", s.Reason)
	}
	for id := range a.thin {
		if !seen[id] {
			delete(a.thin, id)
		}
	}
	a.last = d
	return d
}

func (a *Adapter) apply(s Settings) {
	lv, k := a.cfg.Levers, a.cfg.Controller.Knobs
	if lv.Bitrate != nil && k.Has(encode.KnobBitrate) && s.Bitrate > 0 {
		if err := lv.Bitrate.SetBitrate(s.Bitrate); err != nil {
			a.log.Warn("adapt: cannot set the bitrate", "bitrate", s.Bitrate, "err", err)
		}
	}
	if lv.Quality != nil && k.Has(encode.KnobQuality) && s.Quality > 0 {
		if err := lv.Quality.SetQuality(s.Quality); err != nil {
			a.log.Warn("adapt: cannot set the quality", "quality", s.Quality, "err", err)
		}
	}
	if lv.Framerate != nil && k.Has(encode.KnobFramerate) && s.FPS > 0 {
		if err := lv.Framerate.SetFramerate(s.FPS); err != nil {
			a.log.Warn("adapt: cannot set the frame rate", "fps", s.FPS, "err", err)
		}
	}
}

func transportOf(s string) Transport {
	switch s {
	case "tcp":
		return TCP
	case "multicast":
		return Multicast
	}
	return UDP
}
