package rtcpctl

import (
	"errors"
	"fmt"
	"math"

	"github.com/camagent/camagent/encode"
)

// Settings are the encoder-wide levers: what the encoder is asked to do.
// A zero field is a lever the encoder does not have.
type Settings struct {
	Bitrate int // bits per second
	Quality int // 1..100 (JPEG quality)
	FPS     int // frames per second
}

func (s Settings) String() string {
	out := fmt.Sprintf("%d fps", s.FPS)
	if s.Bitrate > 0 {
		out = fmt.Sprintf("%d kbit/s, ", s.Bitrate/1000) + out
	}
	if s.Quality > 0 {
		out = fmt.Sprintf("quality %d, ", s.Quality) + out
	}
	return out
}

// Ladder maps a level, the fraction of the full-quality bit rate the viewers
// can take (1 = the configured targets), to encoder settings. It spends the
// levers in a fixed order and never goes below a floor:
//
//   - H.264 with a bitrate knob: the bitrate, from its target down to its
//     floor; then the frame rate, scaling the bitrate with it so that each
//     frame keeps the floor's bits (a rate-controlled encoder at a fixed
//     bitrate would otherwise spend the same bits on fewer frames).
//   - MJPEG with a quality knob: the JPEG quality, then the frame rate.
//   - Otherwise: the frame rate alone, if the encoder has that knob.
//
// A level below Min cannot be reached with the encoder's levers: that is
// what per-session thinning is for.
type Ladder struct {
	Codec  encode.Codec
	Knobs  encode.Knob
	Target Settings
	Floor  Settings

	qualityStop float64 // level where the quality (or bitrate) lever is spent
	min         float64
}

// ErrLadder means the targets and floors do not make a ladder.
var ErrLadder = errors.New("rtcpctl: bad targets or floors")

// Init checks the targets and floors and precomputes the ladder.
func (l *Ladder) Init() error {
	t, f := l.Target, l.Floor
	if t.FPS < 1 {
		return fmt.Errorf("%w: target frame rate %d", ErrLadder, t.FPS)
	}
	if !l.Knobs.Has(encode.KnobFramerate) || f.FPS < 1 || f.FPS > t.FPS {
		l.Floor.FPS = t.FPS
		if l.Knobs.Has(encode.KnobFramerate) && (f.FPS < 1 || f.FPS > t.FPS) {
			return fmt.Errorf("%w: frame rate floor %d not in 1..%d", ErrLadder, f.FPS, t.FPS)
		}
	}
	l.qualityStop = 1
	switch {
	case l.usesBitrate():
		if t.Bitrate <= 0 || f.Bitrate <= 0 || f.Bitrate > t.Bitrate {
			return fmt.Errorf("%w: bitrate floor %d, target %d", ErrLadder, f.Bitrate, t.Bitrate)
		}
		l.qualityStop = float64(f.Bitrate) / float64(t.Bitrate)
	case l.usesQuality():
		if t.Quality < 1 || t.Quality > 100 || f.Quality < 1 || f.Quality > t.Quality {
			return fmt.Errorf("%w: quality floor %d, target %d", ErrLadder, f.Quality, t.Quality)
		}
		l.qualityStop = jpegCost(f.Quality) / jpegCost(t.Quality)
	}
	l.min = l.qualityStop * float64(l.Floor.FPS) / float64(t.FPS)
	return nil
}

func (l *Ladder) usesBitrate() bool {
	return l.Codec == encode.H264 && l.Knobs.Has(encode.KnobBitrate)
}

func (l *Ladder) usesQuality() bool {
	return l.Codec == encode.MJPEG && l.Knobs.Has(encode.KnobQuality)
}

// Min is the lowest level the encoder's levers reach (1 when it has none).
func (l *Ladder) Min() float64 { return l.min }

// At returns the settings for level x, clamped to [Min, 1].
func (l *Ladder) At(x float64) Settings {
	x = math.Min(1, math.Max(l.min, x))
	s := l.Target
	if !l.usesBitrate() {
		s.Bitrate = 0
	}
	if !l.usesQuality() {
		s.Quality = 0
	}
	if x >= l.qualityStop {
		switch {
		case l.usesBitrate():
			s.Bitrate = int(math.Round(x * float64(l.Target.Bitrate)))
		case l.usesQuality():
			s.Quality = jpegQualityFor(x * jpegCost(l.Target.Quality))
			s.Quality = max(l.Floor.Quality, min(l.Target.Quality, s.Quality))
		}
		return s
	}
	// The first lever is spent; the frame rate takes the rest.
	fps := int(math.Floor(float64(l.Target.FPS)*x/l.qualityStop + 1e-9))
	s.FPS = max(l.Floor.FPS, fps)
	switch {
	case l.usesBitrate():
		s.Bitrate = int(math.Round(float64(l.Floor.Bitrate) * float64(s.FPS) / float64(l.Target.FPS)))
	case l.usesQuality():
		s.Quality = l.Floor.Quality
	}
	return s
}

// jpegCost models the relative size of a JPEG at quality q. The IJG
// quality scales the quantizers by s = 5000/q below 50 and 200-2q above;
// on camera images the size goes roughly as 1/sqrt(s): quality 50 is about
// 0.6 of quality 80, quality 30 about a third of quality 90. Only the ratio
// matters; the loss feedback corrects what the model gets wrong, because
// every cut is a fraction of the level actually in force.
func jpegCost(q int) float64 {
	return 1 / math.Sqrt(jpegScale(float64(q)))
}

func jpegScale(q float64) float64 {
	if q < 50 {
		return 5000 / q
	}
	return max(2, 200-2*q) // quantizers bottom out at 1 near quality 100
}

// jpegQualityFor is the highest quality whose cost is at most c.
func jpegQualityFor(c float64) int {
	for q := 100; q > 1; q-- {
		if jpegCost(q) <= c*(1+1e-9) {
			return q
		}
	}
	return 1
}
