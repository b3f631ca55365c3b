package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/rtcpctl"
	"github.com/camagent/camagent/stream"
)

// adaptConfig holds the rate adaptation settings (docs/adaptation.md).
// The targets are the stream's own settings (frame rate, JPEG quality,
// bitrate); these are the switch and the floors.
type adaptConfig struct {
	Adapt      string `envconfig:"ADAPT" default:"on" desc:"rate adaptation to the viewers' links: on or off (off keeps fixed settings)"`
	MinFPS     int    `envconfig:"ADAPT_MIN_FPS" default:"5" desc:"lowest frame rate adaptation may choose"`
	MinQuality int    `envconfig:"ADAPT_MIN_QUALITY" default:"40" desc:"lowest JPEG quality adaptation may choose (MJPEG)"`
	Bitrate    int    `envconfig:"ADAPT_BITRATE" default:"2000000" desc:"target H.264 bitrate in bits/s, for encoders with a bitrate knob"`
	MinBitrate int    `envconfig:"ADAPT_MIN_BITRATE" default:"300000" desc:"lowest H.264 bitrate at the full frame rate, in bits/s"`
}

func (c *adaptConfig) validate(target capture.Mode, quality int) error {
	c.Adapt = strings.ToLower(c.Adapt)
	checks := []error{
		oneOf("ADAPT", c.Adapt, "on", "off"),
		inRange("ADAPT_MIN_FPS", c.MinFPS, 1, 120),
		inRange("ADAPT_MIN_QUALITY", c.MinQuality, 1, 100),
		inRange("ADAPT_BITRATE", c.Bitrate, 10_000, 100_000_000),
		inRange("ADAPT_MIN_BITRATE", c.MinBitrate, 10_000, 100_000_000),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if c.MinBitrate > c.Bitrate {
		return settingError{"ADAPT_MIN_BITRATE", fmt.Sprint(c.MinBitrate), fmt.Sprintf("at most CAMAGENT_ADAPT_BITRATE (%d)", c.Bitrate)}
	}
	// A floor above its target is the target: nothing to lower.
	c.MinFPS = min(c.MinFPS, target.FPS)
	c.MinQuality = min(c.MinQuality, quality)
	return nil
}

// adaptation is the rate adapter between the RTSP server's viewers and
// the encoder.
type adaptation struct{ *rtcpctl.Adapter }

// newAdaptation reads the CAMAGENT_ADAPT* settings and builds the adapter
// for enc. It is the server's feedback (receiver reports, PLI/FIR); run
// starts it on the server.
func newAdaptation(cfg Config, enc encoder, mode capture.Mode, log *slog.Logger) (adaptation, error) {
	var ac adaptConfig
	if err := envconfig.Process(envPrefix, &ac); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return adaptation{}, fmt.Errorf("invalid %s=%q: want %s", pe.KeyName, pe.Value, kindOf(pe.TypeName))
		}
		return adaptation{}, err
	}
	if err := ac.validate(mode, cfg.JPEGQuality); err != nil {
		return adaptation{}, err
	}
	var (
		knobs  encode.Knob
		levers rtcpctl.Levers
	)
	if t, ok := enc.Encoder.(encode.Tunable); ok {
		knobs = t.Knobs()
		levers = rtcpctl.Levers{Bitrate: t, Quality: t, Framerate: t}
	}
	a, err := rtcpctl.NewAdapter(rtcpctl.AdapterConfig{
		Controller: rtcpctl.Config{
			Codec:  enc.codec,
			Knobs:  knobs,
			Target: rtcpctl.Settings{Bitrate: ac.Bitrate, Quality: cfg.JPEGQuality, FPS: mode.FPS},
			Floor:  rtcpctl.Settings{Bitrate: ac.MinBitrate, Quality: ac.MinQuality, FPS: ac.MinFPS},
		},
		Levers:     levers,
		Enabled:    ac.Adapt == "on",
		OnKeyframe: enc.forceKeyframe,
		Logger:     log.With("component", "adapt"),
	})
	if err != nil {
		return adaptation{}, fmt.Errorf("rate adaptation: %w", err)
	}
	if ac.Adapt == "on" && knobs.Has(encode.KnobBitrate) {
		// Start at the target the controller assumes.
		if err := levers.Bitrate.SetBitrate(ac.Bitrate); err != nil {
			log.Warn("cannot set the target bitrate", "bitrate", ac.Bitrate, "err", err)
		}
	}
	return adaptation{a}, nil
}

// run adapts to srv's viewers until ctx is done.
func (a adaptation) run(ctx context.Context, srv *stream.Server) error {
	a.SetSessions(srv)
	return a.Run(ctx)
}
