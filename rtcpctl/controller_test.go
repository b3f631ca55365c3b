package rtcpctl

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camagent/camagent/encode"
)

var (
	mjpegCfg = Config{Codec: encode.MJPEG, Knobs: encode.KnobQuality | encode.KnobFramerate,
		Target: Settings{Quality: 90, FPS: 25}, Floor: Settings{Quality: 50, FPS: 5}}
	h264Cfg = Config{Codec: encode.H264, Knobs: encode.KnobBitrate | encode.KnobFramerate | encode.KnobKeyframe,
		Target: Settings{Bitrate: 2_000_000, FPS: 25}, Floor: Settings{Bitrate: 500_000, FPS: 5}}
)

// step is one update: after advancing the clock, each named session sends
// one receiver report with the given loss (UDP), or (TCP) the server has
// offered, dropped and queued the given bytes since the previous step.
type step struct {
	advance time.Duration
	udp     map[string]float64
	tcp     map[string]tcpStep
	want    string // the decision, as summary() prints it
}

type tcpStep struct {
	offered, dropped uint64
	backlog          int
}

// summary prints a decision compactly: settings, then each session's
// level, and thinning or hopelessness when present.
func summary(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", d.Settings)
	for _, s := range d.Sessions {
		fmt.Fprintf(&b, " | %s %.3f", s.Session, s.Level)
		if s.Hopeless {
			b.WriteString(" hopeless")
		}
		if s.Thin.KeepOneIn > 1 {
			fmt.Fprintf(&b, " 1/%d", s.Thin.KeepOneIn)
		}
		if s.Thin.KeyframesOnly {
			b.WriteString(" keyframes")
		}
	}
	return b.String()
}

func run(t *testing.T, cfg Config, steps []step) []Decision {
	t.Helper()
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	obs := map[string]*Observation{}
	var out []Decision
	for i, s := range steps {
		now = now.Add(s.advance)
		for name, loss := range s.udp {
			o := obs[name]
			if o == nil {
				o = &Observation{Session: name, Transport: UDP}
				obs[name] = o
			}
			if loss >= 0 {
				o.Reports++
				o.LossSum += loss
			}
		}
		for name, ts := range s.tcp {
			o := obs[name]
			if o == nil {
				o = &Observation{Session: name, Transport: TCP}
				obs[name] = o
			}
			o.OfferedBytes += ts.offered
			o.DroppedBytes += ts.dropped
			o.BacklogBytes = ts.backlog
		}
		var list []Observation
		for _, o := range obs {
			list = append(list, *o)
		}
		d := c.Update(now, list)
		if got := summary(d); got != s.want {
			t.Errorf("step %d: got\n\t%s\nwant\n\t%s\nreason %q", i, got, s.want, d.Reason)
		}
		out = append(out, d)
	}
	return out
}

const rr = 5 * time.Second // GStreamer's receiver report interval

func TestOnsetOfLossAndRecovery(t *testing.T) {
	run(t, mjpegCfg, []step{
		{rr, map[string]float64{"a": 0}, nil, "quality 90, 25 fps | a 1.000"},
		// 50% loss: cut to min(1-0.25, 0.95·0.5) of the level.
		{rr, map[string]float64{"a": 0.5}, nil, "quality 60, 25 fps | a 0.500"},
		{rr, map[string]float64{"a": 0.3}, nil, "quality 50, 18 fps | a 0.332"},
		{rr, map[string]float64{"a": 0.05}, nil, "quality 50, 18 fps | a 0.332"}, // hold band
		// clean: near the last congestion (0.33·0.7/0.665 ≈ 0.35), 1%/s for 5 s.
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 19 fps | a 0.349"},
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 20 fps | a 0.367"},
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 21 fps | a 0.386"},
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 22 fps | a 0.406"},
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 23 fps | a 0.426"},
		{rr, map[string]float64{"a": 0}, nil, "quality 50, 25 fps | a 0.448"},
		{rr, map[string]float64{"a": 0}, nil, "quality 54, 25 fps | a 0.471"},
		{rr, map[string]float64{"a": 0}, nil, "quality 71, 25 fps | a 0.589"}, // 1.3 times past it: 8%/s, capped at ×1.25
		{rr, map[string]float64{"a": 0}, nil, "quality 81, 25 fps | a 0.736"},
		{rr, map[string]float64{"a": 0}, nil, "quality 88, 25 fps | a 0.920"},
		{rr, map[string]float64{"a": 0}, nil, "quality 90, 25 fps | a 1.000"}, // back at the targets
	})
}

// TestOscillation: loss that flips between clean and just over the hold
// band does not make the level swing: each cut is small, and the climb
// back stays slow near the level where loss was seen.
func TestOscillation(t *testing.T) {
	want := []string{
		"quality 85, 25 fps | a 0.836",
		"quality 87, 25 fps | a 0.879",
		"quality 81, 25 fps | a 0.735",
		"quality 83, 25 fps | a 0.772",
		"quality 75, 25 fps | a 0.645",
		"quality 78, 25 fps | a 0.678",
	}
	var steps []step
	for i, w := range want {
		loss := 0.0
		if i%2 == 0 {
			loss = 0.12
		}
		steps = append(steps, step{rr, map[string]float64{"a": loss}, nil, w})
	}
	run(t, mjpegCfg, steps)
}

// TestGoodAndBadViewer: the encoder follows the worst viewer until that
// viewer needs less than the floor; then it is thinned alone and the
// encoder climbs back for the good one.
func TestGoodAndBadViewer(t *testing.T) {
	want := []string{
		"quality 60, 25 fps | bad 0.500 | good 1.000",
		"quality 50, 13 fps | bad 0.250 | good 0.938",
		"quality 50, 6 fps | bad 0.125 | good 0.469",
		"quality 50, 8 fps | bad 0.062 hopeless 1/3 | good 0.234",
		"quality 50, 10 fps | bad 0.026 hopeless 1/8 | good 0.293",
		"quality 50, 13 fps | bad 0.012 hopeless 1/8 | good 0.366",
		"quality 50, 17 fps | bad 0.011 hopeless 1/8 | good 0.458",
		"quality 50, 21 fps | bad 0.011 hopeless 1/8 | good 0.572",
		"quality 56, 25 fps | bad 0.011 hopeless 1/8 | good 0.715",
		"quality 71, 25 fps | bad 0.011 hopeless 1/8 | good 0.894",
	}
	var steps []step
	for _, w := range want {
		steps = append(steps, step{rr, map[string]float64{"good": 0, "bad": 0.6}, nil, w})
	}
	run(t, mjpegCfg, steps)
}

func TestGoodAndBadViewerH264(t *testing.T) {
	// Below the bitrate floor's 25 fps the frame rate goes, and the bitrate
	// with it; a hopeless H.264 viewer gets keyframes only.
	want := []string{
		"1000 kbit/s, 25 fps | bad 0.500 | good 1.000",
		"500 kbit/s, 25 fps | bad 0.250 | good 0.938",
		"240 kbit/s, 12 fps | bad 0.125 | good 0.469",
		"120 kbit/s, 6 fps | bad 0.062 | good 0.234",
		"140 kbit/s, 7 fps | bad 0.031 hopeless keyframes | good 0.117",
		"180 kbit/s, 9 fps | bad 0.006 hopeless keyframes | good 0.146",
		"240 kbit/s, 12 fps | bad 0.006 hopeless keyframes | good 0.183",
		"300 kbit/s, 15 fps | bad 0.006 hopeless keyframes | good 0.229",
	}
	var steps []step
	for _, w := range want {
		steps = append(steps, step{rr, map[string]float64{"good": 0, "bad": 0.6}, nil, w})
	}
	run(t, h264Cfg, steps)
}

// TestTCPBacklogWithoutRTCP: an ffmpeg-over-TCP viewer sends no RTCP; its
// send backlog growing is the signal.
func TestTCPBacklogWithoutRTCP(t *testing.T) {
	const sec = 500_000 // bytes offered per second at the targets (4 Mbit/s)
	run(t, mjpegCfg, []step{
		{time.Second, nil, map[string]tcpStep{"ff": {sec, 0, 20_000}}, "quality 90, 25 fps | ff 1.000"},
		{time.Second, nil, map[string]tcpStep{"ff": {sec, 0, 30_000}}, "quality 90, 25 fps | ff 1.000"},      // small: no signal
		{time.Second, nil, map[string]tcpStep{"ff": {sec, 0, 280_000}}, "quality 60, 25 fps | ff 0.500"},     // half stays queued
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 2, 0, 400_000}}, "quality 50, 13 fps | ff 0.250"}, // still growing
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 3, 0, 350_000}}, "quality 50, 12 fps | ff 0.225"}, // draining, still > 0.6 s: standing queue
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 3, 0, 90_000}}, "quality 50, 12 fps | ff 0.225"},  // draining; 0.54 s left: hold
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 3, 0, 10_000}}, "quality 50, 12 fps | ff 0.227"},  // clean
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 3, 0, 10_000}}, "quality 50, 12 fps | ff 0.230"},
		{time.Second, nil, map[string]tcpStep{"ff": {sec / 3, 160_000, 150_000}}, "quality 50, 6 fps | ff 0.115"}, // queue full: drops
	})
}

// TestPacingRTTAndLeaving: reports closer than MinStep are averaged into
// one step; a standing queue seen in the RTT cuts without loss; when the
// only viewer leaves, the encoder goes back to the targets.
func TestPacingRTTAndLeaving(t *testing.T) {
	c, err := NewController(h264Cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	o := Observation{Session: "a", Transport: UDP}
	upd := func(adv time.Duration, loss float64, rtt time.Duration) Decision {
		now = now.Add(adv)
		o.Reports++
		o.LossSum += loss
		o.RTT = rtt
		return c.Update(now, []Observation{o})
	}
	checks := []struct {
		d    Decision
		want string
	}{
		{upd(time.Second, 0, 20*time.Millisecond), "2000 kbit/s, 25 fps | a 1.000"},
		{upd(time.Second, 0.4, 20*time.Millisecond), "1140 kbit/s, 25 fps | a 0.570"},
		// 300 ms later: too soon to step again; kept for the next step.
		{upd(300*time.Millisecond, 0.4, 20*time.Millisecond), "1140 kbit/s, 25 fps | a 0.570"},
		// the mean of 0.4 and 0 is 20%: cut to 0.95·0.8 of the level.
		{upd(time.Second, 0, 20*time.Millisecond), "866 kbit/s, 25 fps | a 0.433"},
		// no loss, but the RTT smoothed to 20+(400-20)/2 = 210 ms is 190 ms
		// over its least: once may be a late receiver, near the last
		// congestion the level climbs 1%/s.
		{upd(time.Second, 0, 400*time.Millisecond), "875 kbit/s, 25 fps | a 0.438"},
		// twice running (305 ms): a standing queue.
		{upd(time.Second, 0, 400*time.Millisecond), "787 kbit/s, 25 fps | a 0.394"},
		{upd(time.Second, 0, 20*time.Millisecond), "795 kbit/s, 25 fps | a 0.398"},
	}
	for i, ch := range checks {
		if got := summary(ch.d); got != ch.want {
			t.Errorf("check %d: got %s, want %s (reason %q)", i, got, ch.want, ch.d.Reason)
		}
	}
	if r := checks[5].d.Sessions[0].Reason; !strings.Contains(r, "standing queue") {
		t.Errorf("reason %q does not name the standing queue", r)
	}
	d := c.Update(now.Add(time.Second), nil)
	if got := summary(d); got != "2000 kbit/s, 25 fps" || d.Reason != "no viewers: back to targets" {
		t.Errorf("after the viewer left: %s (%q)", got, d.Reason)
	}
}

// TestNoKnobs: an encoder with no levers (passthrough) leaves every
// congested viewer to per-session thinning.
func TestNoKnobs(t *testing.T) {
	run(t, Config{Codec: encode.MJPEG, Target: Settings{FPS: 25}}, []step{
		{rr, map[string]float64{"a": 0.5}, nil, "25 fps | a 0.500 hopeless 1/2"},
		{rr, map[string]float64{"a": 0}, nil, "25 fps | a 0.526 hopeless 1/2"},
	})
}

func TestLadder(t *testing.T) {
	cases := []struct {
		cfg   Config
		level float64
		want  Settings
	}{
		{mjpegCfg, 1, Settings{Quality: 90, FPS: 25}},
		{mjpegCfg, 0.45, Settings{Quality: 50, FPS: 25}},
		{mjpegCfg, 0.2, Settings{Quality: 50, FPS: 11}},
		{mjpegCfg, 0, Settings{Quality: 50, FPS: 5}},
		{h264Cfg, 0.5, Settings{Bitrate: 1_000_000, FPS: 25}},
		{h264Cfg, 0.125, Settings{Bitrate: 240_000, FPS: 12}},
		{h264Cfg, 0, Settings{Bitrate: 100_000, FPS: 5}},
		{Config{Codec: encode.H264, Knobs: encode.KnobFramerate, Target: Settings{FPS: 25}, Floor: Settings{FPS: 5}}, 0.5, Settings{FPS: 12}},
	}
	for _, c := range cases {
		l := Ladder{Codec: c.cfg.Codec, Knobs: c.cfg.Knobs, Target: c.cfg.Target, Floor: c.cfg.Floor}
		if err := l.Init(); err != nil {
			t.Fatal(err)
		}
		if got := l.At(c.level); got != c.want {
			t.Errorf("%v at %.3f: %+v, want %+v", c.cfg.Codec, c.level, got, c.want)
		}
	}
	bad := Ladder{Codec: encode.MJPEG, Knobs: encode.KnobQuality, Target: Settings{Quality: 50, FPS: 25}, Floor: Settings{Quality: 60}}
	if err := bad.Init(); err == nil {
		t.Error("a quality floor above its target was accepted")
	}
}
