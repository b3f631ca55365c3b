package rtcpctl

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/camagent/camagent/encode"
)

// The controller's constants. docs/adaptation.md explains each choice.
const (
	// LossLow and LossHigh bound the hold band: under LossLow the level
	// steps up, over LossHigh it is cut by (1 - 0.5·loss), in between it holds
	// (GCC's loss-based controller).
	LossLow  = 0.02
	LossHigh = 0.10
	// MinStep is the shortest time between two steps of one viewer: reports
	// that arrive sooner are averaged into the next step.
	MinStep = time.Second
	// UpRateFar and UpRateNear are how fast a clean viewer's level climbs,
	// per second since its last step: 8%/s (GCC's multiplicative increase)
	// far from where congestion was last seen, 1%/s near it (from 0.75 to
	// NearBand times that level: the estimate, (1 - loss) of what was
	// served, runs low when the ladder's cost model does).
	UpRateFar  = 0.08
	UpRateNear = 0.01
	NearBand   = 1.3
	// MaxUp and MaxCut bound one step.
	MaxUp  = 1.25
	MaxCut = 0.5
	// ReceivedHeadroom: on heavy loss the level is also cut to this share
	// of what the viewer received, (1 - loss) of what it was served.
	ReceivedHeadroom = 0.95
	// OveruseCut is the step for a standing queue without heavy loss: a
	// smoothed RTT DelayOveruse above the viewer's least RTT in two samples
	// running, or (TCP) a send backlog over BacklogHigh.
	OveruseCut   = 0.9
	DelayOveruse = 150 * time.Millisecond
	// BacklogInterval is the sample period of a TCP viewer's send backlog.
	// A backlog (in time at the current rate) under BacklogLow counts as
	// none; from BacklogLow the level holds at least; over BacklogHigh it
	// is a standing queue.
	BacklogInterval = time.Second
	BacklogLow      = 250 * time.Millisecond
	BacklogHigh     = 600 * time.Millisecond
	// MaxThin is the deepest per-session thinning: one frame in MaxThin.
	MaxThin = 8
	// rttSmoothing is the weight of a new RTT sample in the smoothed RTT.
	rttSmoothing = 0.5
)

// Transport is how a session receives RTP.
type Transport int

// Transports.
const (
	UDP Transport = iota
	TCP
	Multicast
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	case Multicast:
		return "multicast"
	}
	return "unknown"
}

// Observation is what the server and the viewer's RTCP say about one
// session at one instant. Counters are cumulative since the session began;
// the controller takes differences.
type Observation struct {
	Session   string
	Transport Transport

	// RTCP receiver reports (UDP sessions; zero when the viewer sends none).
	Reports int     // receiver reports received
	LossSum float64 // sum of their fraction-lost figures
	Jitter  time.Duration
	RTT     time.Duration // 0 when unknown

	// The server's side (what TCP sessions are judged by).
	OfferedBytes  uint64 // bytes queued for the session (after thinning)
	DroppedBytes  uint64 // of those, dropped because the session queue was full
	DroppedFrames uint64
	BacklogBytes  int // queued in the session and not yet sent by the socket
}

// Thin is per-session thinning: the session gets one frame in KeepOneIn,
// or only keyframes.
type Thin struct {
	KeepOneIn     int // 1 = every frame
	KeyframesOnly bool
}

// SessionDecision is the controller's view of one session after an update.
type SessionDecision struct {
	Session   string
	Transport Transport
	Loss      float64       // the last loss sample (RTCP, or the backlog's equivalent)
	RTT       time.Duration // smoothed
	Jitter    time.Duration
	Backlog   int           // bytes
	BacklogAt time.Duration // the backlog in time at the current rate
	Level     float64       // the level this viewer can take
	Hopeless  bool          // cannot keep up even at the floor: thinned
	Thin      Thin
	Reason    string // why its level last changed
}

// Decision is the result of an update.
type Decision struct {
	Settings Settings // encoder-wide
	Level    float64
	Changed  bool   // Settings differ from the previous decision's
	Reason   string // why the encoder-wide level last changed
	Sessions []SessionDecision
}

// Config configures a Controller.
type Config struct {
	Codec  encode.Codec
	Knobs  encode.Knob // what the encoder can do; other levers are left alone
	Target Settings
	Floor  Settings
}

// Controller turns observations into decisions. It is deterministic: the
// same observations at the same instants give the same decisions. It is
// not safe for concurrent use.
type Controller struct {
	ladder   Ladder
	level    float64
	settings Settings
	reason   string
	sessions map[string]*sessionState
}

type sessionState struct {
	id        string
	transport Transport
	level     float64
	hopeless  bool
	thin      Thin
	stepped   bool
	lastStep  time.Time
	congested float64 // level at the last congestion; 0 = none seen
	reason    string

	// RTCP
	reports int
	lossSum float64
	rttSeen int // Reports when the RTT was last taken in
	overRun int // consecutive samples with the RTT over its least + DelayOveruse
	rttMin  time.Duration
	rtt     time.Duration
	jitter  time.Duration

	// backlog
	sampled               bool
	lastSample            time.Time
	lastOffered, lastDrop uint64
	lastBacklog           int
	backlog               int
	backlogAt             time.Duration
	lastLoss              float64
}

// NewController checks cfg and starts at the targets.
func NewController(cfg Config) (*Controller, error) {
	c := &Controller{
		ladder:   Ladder{Codec: cfg.Codec, Knobs: cfg.Knobs, Target: cfg.Target, Floor: cfg.Floor},
		level:    1,
		reason:   "start: targets",
		sessions: map[string]*sessionState{},
	}
	if err := c.ladder.Init(); err != nil {
		return nil, err
	}
	c.settings = c.ladder.At(1)
	return c, nil
}

// Settings are the encoder settings in force.
func (c *Controller) Settings() Settings { return c.settings }

// Ladder is the controller's ladder.
func (c *Controller) Ladder() *Ladder { return &c.ladder }

// sample is one judgement of a viewer's link.
type sample struct {
	loss    float64
	overuse bool   // a standing queue (RTT or backlog)
	what    string // for the reason
}

// Update takes the observations of every open session at now and returns
// the decisions. Sessions missing from obs are forgotten.
func (c *Controller) Update(now time.Time, obs []Observation) Decision {
	seen := make(map[string]bool, len(obs))
	for i := range obs {
		o := &obs[i]
		if o.Transport == Multicast {
			continue // shared by many receivers: not one viewer's link
		}
		seen[o.Session] = true
		st := c.sessions[o.Session]
		if st == nil {
			st = &sessionState{id: o.Session, transport: o.Transport, level: c.level, thin: Thin{KeepOneIn: 1}, reason: "joined"}
			c.sessions[o.Session] = st
		}
		c.observe(st, now, o)
	}
	for id := range c.sessions {
		if !seen[id] {
			delete(c.sessions, id)
		}
	}

	// Encoder-wide: the worst viewer that is not hopeless.
	prev := c.level
	level, bound := 2.0, (*sessionState)(nil)
	for _, st := range c.sortedSessions() {
		if !st.hopeless && st.level < level {
			level, bound = st.level, st
		}
	}
	switch {
	case len(c.sessions) == 0:
		level = 1
		if prev != 1 {
			c.reason = "no viewers: back to targets"
		}
	case bound == nil:
		level = c.ladder.Min() // every viewer is thinned: encode at the floor
		if prev != level {
			c.reason = "every viewer is thinned: floor"
		}
	default:
		level = min(level, prev*MaxUp) // bounded even when a viewer leaves
		if level != prev {
			c.reason = "viewer " + bound.id + ": " + bound.reason
		}
	}
	c.level = math.Min(1, math.Max(c.ladder.Min(), level))

	// Thinning for the hopeless.
	for _, st := range c.sessions {
		st.thin = Thin{KeepOneIn: 1}
		if st.hopeless && st.level < c.level {
			n := int(math.Ceil(c.level/st.level - 1e-9))
			n = max(1, min(MaxThin, n))
			if c.ladder.Codec == encode.H264 {
				st.thin = Thin{KeepOneIn: 1, KeyframesOnly: n > 1}
			} else {
				st.thin.KeepOneIn = n
			}
		}
	}

	s := c.ladder.At(c.level)
	d := Decision{Settings: s, Level: c.level, Changed: s != c.settings, Reason: c.reason}
	c.settings = s
	for _, st := range c.sortedSessions() {
		d.Sessions = append(d.Sessions, SessionDecision{
			Session: st.id, Transport: st.transport, Loss: st.lastLoss, RTT: st.rtt, Jitter: st.jitter,
			Backlog: st.backlog, BacklogAt: st.backlogAt, Level: st.level, Hopeless: st.hopeless,
			Thin: st.thin, Reason: st.reason,
		})
	}
	return d
}

func (c *Controller) sortedSessions() []*sessionState {
	out := make([]*sessionState, 0, len(c.sessions))
	for _, st := range c.sessions {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *sessionState) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

// served is the level a session is actually sent at.
func (c *Controller) served(st *sessionState) float64 {
	switch {
	case st.thin.KeyframesOnly:
		return c.level / MaxThin // unknown share; assume the deepest
	case st.thin.KeepOneIn > 1:
		return c.level / float64(st.thin.KeepOneIn)
	}
	return c.level
}

// observe updates a session's signals and, when a sample is due, its level.
func (c *Controller) observe(st *sessionState, now time.Time, o *Observation) {
	st.jitter = o.Jitter
	st.backlog = o.BacklogBytes
	if o.RTT > 0 && o.Reports != st.rttSeen {
		st.rttSeen = o.Reports
		if st.rttMin == 0 || o.RTT < st.rttMin {
			st.rttMin = o.RTT
		}
		if st.rtt == 0 {
			st.rtt = o.RTT
		} else {
			st.rtt = time.Duration(rttSmoothing*float64(o.RTT) + (1-rttSmoothing)*float64(st.rtt))
		}
	}
	var smp sample
	switch o.Transport {
	case TCP:
		var ok bool
		if smp, ok = c.backlogSample(st, now, o); !ok {
			return
		}
	default:
		if o.Reports <= st.reports || (st.stepped && now.Sub(st.lastStep) < MinStep) {
			return
		}
		n := o.Reports - st.reports
		loss := (o.LossSum - st.lossSum) / float64(n)
		st.reports, st.lossSum = o.Reports, o.LossSum
		if st.rtt > 0 && st.rtt > st.rttMin+DelayOveruse {
			st.overRun++
		} else {
			st.overRun = 0
		}
		// One high RTT can be a receiver that was late to answer (a busy
		// CPU); a queue that stands shows in two reports running.
		// With loss beside it, one is enough: the queue is overflowing.
		loss = math.Min(1, math.Max(0, loss))
		smp = sample{loss: loss, overuse: st.overRun >= 2 || (st.overRun == 1 && loss >= LossLow)}
		smp.what = fmt.Sprintf("loss %.1f%%", 100*smp.loss)
		if n > 1 {
			smp.what += fmt.Sprintf(" (mean of %d reports)", n)
		}
		if smp.overuse {
			smp.what += fmt.Sprintf(", RTT %v, its least %v", st.rtt.Round(time.Millisecond), st.rttMin.Round(time.Millisecond))
		}
	}
	st.lastLoss = smp.loss
	c.step(st, now, smp)
}

// backlogSample judges a TCP session by its send backlog, once per
// BacklogInterval: the share of what was offered that did not leave (was
// dropped, or is still queued) counts as loss.
func (c *Controller) backlogSample(st *sessionState, now time.Time, o *Observation) (sample, bool) {
	if !st.sampled || o.OfferedBytes < st.lastOffered || o.DroppedBytes < st.lastDrop {
		// first sight, or a new PLAY restarted the counters
		st.sampled, st.lastSample = true, now
		st.lastOffered, st.lastDrop, st.lastBacklog = o.OfferedBytes, o.DroppedBytes, o.BacklogBytes
		return sample{}, false
	}
	dt := now.Sub(st.lastSample)
	if dt < BacklogInterval {
		return sample{}, false
	}
	offered := float64(o.OfferedBytes - st.lastOffered)
	dropped := float64(o.DroppedBytes - st.lastDrop)
	grown := float64(o.BacklogBytes - st.lastBacklog)
	st.lastSample = now
	st.lastOffered, st.lastDrop, st.lastBacklog = o.OfferedBytes, o.DroppedBytes, o.BacklogBytes
	if offered <= 0 {
		return sample{}, false // nothing flowing: no evidence either way
	}
	rate := offered / dt.Seconds() // bytes per second
	st.backlogAt = time.Duration(float64(o.BacklogBytes) / rate * float64(time.Second))
	loss := 0.0
	if st.backlogAt >= BacklogLow || dropped > 0 {
		loss = math.Min(1, math.Max(0, (dropped+grown)/offered))
	}
	if st.backlogAt >= BacklogLow {
		// A queue that is not draining is no reason to climb: hold at least.
		loss = math.Max(loss, LossLow)
	}
	smp := sample{loss: loss, overuse: st.backlogAt > BacklogHigh}
	smp.what = fmt.Sprintf("backlog %d kB (%v), %.0f%% of the offered bytes not sent", o.BacklogBytes/1000, st.backlogAt.Round(10*time.Millisecond), 100*loss)
	return smp, true
}

// step applies the loss policy to one viewer's level.
func (c *Controller) step(st *sessionState, now time.Time, smp sample) {
	served := c.served(st)
	dt := time.Duration(0)
	if st.stepped {
		dt = now.Sub(st.lastStep)
	}
	old := st.level
	switch {
	case smp.loss > LossHigh:
		f := math.Min(1-0.5*smp.loss, ReceivedHeadroom*(1-smp.loss))
		f = math.Max(MaxCut, f)
		st.level = math.Min(st.level, served) * f
		st.congested = math.Min(st.level/f, served) * (1 - smp.loss)
		st.reason = fmt.Sprintf("%s: cut ×%.2f", smp.what, f)
	case smp.overuse:
		st.level = math.Min(st.level, served) * OveruseCut
		st.congested = st.level / OveruseCut
		st.reason = fmt.Sprintf("%s: standing queue, cut ×%.2f", smp.what, OveruseCut)
	case smp.loss >= LossLow:
		st.reason = smp.what + ": hold"
	default:
		if !st.stepped {
			dt = MinStep
		}
		base := math.Min(st.level, served*1.5) // no credit far beyond what it was shown
		rate := UpRateFar
		if st.congested > 0 && base >= 0.75*st.congested && base < NearBand*st.congested {
			rate = UpRateNear
		}
		f := math.Min(MaxUp, math.Pow(1+rate, dt.Seconds()))
		st.level = math.Min(1, base*f)
		if st.level != old {
			st.reason = fmt.Sprintf("%s: up ×%.2f", smp.what, st.level/old)
		}
		if st.congested > 0 && st.level >= NearBand*st.congested {
			st.congested = 0 // probed past it: forget
		}
	}
	floorThin := c.ladder.Min() / MaxThin
	st.level = math.Max(floorThin, st.level)
	st.stepped, st.lastStep = true, now

	// A viewer that needs less than the floor is hopeless; it rejoins when
	// its level has climbed back to the encoder's.
	switch {
	case st.level < c.ladder.Min()*(1-1e-9):
		if !st.hopeless {
			st.reason += "; below the floor: thinned for this viewer alone"
		}
		st.hopeless = true
	case st.hopeless && st.level >= c.level*(1-1e-9):
		st.hopeless = false
		st.reason += "; caught up: thinning off"
	}
}

// Reason is why the encoder-wide level last changed.
func (c *Controller) Reason() string { return c.reason }
