// Package pipeline pumps frames one way: from a capture.Source through an
// encode.Encoder into a stream.Stream. It never waits on a viewer: the
// stream's fan-out drops frames for slow viewers instead.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Sink takes encoded access units; *stream.Stream is one.
type Sink interface {
	WriteAccessUnit(au *encode.AccessUnit) error
}

// Pipeline moves frames from Source to Sink through Encoder.
type Pipeline struct {
	Source  capture.Source
	Encoder encode.Encoder
	Sink    Sink
	Logger  *slog.Logger
	// SummaryEvery is how often a one-line summary is logged. Default 1 min.
	SummaryEvery time.Duration
	// OnFrame, if set, is called after each frame reaches the sink (the
	// systemd watchdog hooks in here). It must not block.
	OnFrame func()

	frames, encodeErrors, sinkErrors, driverGaps, restarts atomic.Uint64
}

// Stats are the pipeline's counters.
type Stats struct {
	Frames       uint64 // access units handed to the sink
	EncodeErrors uint64
	SinkErrors   uint64
	DriverGaps   uint64 // frames the source skipped (sequence gaps)
	// Restarts counts frames marked capture.Frame.Restart: how often the
	// source reopened its device (a camera unplugged and back).
	Restarts uint64
}

// Stats returns the counters since Run started.
func (p *Pipeline) Stats() Stats {
	return Stats{p.frames.Load(), p.encodeErrors.Load(), p.sinkErrors.Load(), p.driverGaps.Load(), p.restarts.Load()}
}

// Run pumps frames until ctx is done or the source fails.
func (p *Pipeline) Run(ctx context.Context) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := p.SummaryEvery
	if every <= 0 {
		every = time.Minute
	}
	var (
		lastSeq     uint32
		haveSeq     bool
		lastSummary = time.Now()
		lastStats   Stats
		lastErr     string
	)
	for {
		f, err := p.Source.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pipeline: capture: %w", err)
		}
		if f.Restart {
			// The device was reopened: its sequence starts again, and
			// H.264 viewers need a keyframe to resume from.
			p.restarts.Add(1)
			haveSeq = false
			if kf, ok := p.Encoder.(encode.KeyframeForcer); ok {
				kf.ForceKeyframe()
			}
		}
		if haveSeq && f.Sequence != lastSeq+1 {
			p.driverGaps.Add(uint64(f.Sequence - lastSeq - 1))
		}
		lastSeq, haveSeq = f.Sequence, true

		au, err := p.Encoder.Encode(f)
		switch {
		case err != nil:
			p.encodeErrors.Add(1)
			if msg := err.Error(); msg != lastErr {
				log.Warn("cannot encode frame; skipping it", "err", err)
				lastErr = msg
			}
		case au != nil:
			if err := p.Sink.WriteAccessUnit(au); err != nil {
				p.sinkErrors.Add(1)
				if msg := err.Error(); msg != lastErr {
					log.Warn("cannot stream frame; skipping it", "err", err)
					lastErr = msg
				}
			} else {
				p.frames.Add(1)
				if p.OnFrame != nil {
					p.OnFrame()
				}
			}
		}
		f.Release()

		if time.Since(lastSummary) >= every {
			st := p.Stats()
			log.Info("capture", "frames", st.Frames-lastStats.Frames,
				"fps", float64(st.Frames-lastStats.Frames)/time.Since(lastSummary).Seconds(),
				"driver_gaps", st.DriverGaps-lastStats.DriverGaps,
				"restarts", st.Restarts-lastStats.Restarts,
				"encode_errors", st.EncodeErrors-lastStats.EncodeErrors)
			lastSummary, lastStats, lastErr = time.Now(), st, ""
		}
	}
}
