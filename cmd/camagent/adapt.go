package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/rtcpctl"
	"github.com/camagent/camagent/stream"
)

// adaptation is the rate adapter between the RTSP server's viewers and
// the encoder.
type adaptation struct{ *rtcpctl.Adapter }

// newAdaptation builds the rate adapter for enc from the CAMAGENT_ADAPT*
// settings; its targets are the stream's own (frame rate, JPEG quality,
// bitrate). It is the server's feedback (receiver reports, PLI/FIR); run
// starts it on the server.
func newAdaptation(cfg Config, enc encoder, mode capture.Mode, log *slog.Logger) (adaptation, error) {
	// A floor above its target is the target: nothing to lower.
	minFPS := min(cfg.AdaptMinFPS, mode.FPS)
	minQuality := min(cfg.AdaptMinQuality, cfg.JPEGQuality)
	minBitrate := min(cfg.AdaptMinBitrate, enc.bitrate)
	on := cfg.Adapt == "on"
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
			Target: rtcpctl.Settings{Bitrate: enc.bitrate, Quality: cfg.JPEGQuality, FPS: mode.FPS},
			Floor:  rtcpctl.Settings{Bitrate: minBitrate, Quality: minQuality, FPS: minFPS},
		},
		Levers:     levers,
		Enabled:    on,
		OnKeyframe: enc.forceKeyframe,
		Logger:     log.With("component", "adapt"),
	})
	if err != nil {
		return adaptation{}, fmt.Errorf("rate adaptation: %w", err)
	}
	return adaptation{a}, nil
}

// run adapts to srv's viewers until ctx is done.
func (a adaptation) run(ctx context.Context, srv *stream.Server) error {
	a.SetSessions(srv)
	return a.Run(ctx)
}
