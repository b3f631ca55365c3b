package stream

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/camagent/camagent/encode"
)

// ClockRate is the RTP clock of every video payload camagent sends (RFC 6184, RFC 2435).
const ClockRate = 90000

// StreamConfig describes the one video track a Stream carries.
type StreamConfig struct {
	Codec          encode.Codec
	Width, Height  int
	FPS            int
	PayloadMaxSize int // RTP payload bytes per packet; 0 = the packetizer's default
	// SPS and PPS, when the encoder knows them before its first frame, let
	// DESCRIBE answer at once. Otherwise they are learned from the stream.
	SPS, PPS []byte
	// QueueFrames bounds each viewer's queue, in frames. 0 = 2 s of video.
	QueueFrames int
	// StallLimit disconnects a viewer that has taken nothing for this long.
	// 0 = 10 s.
	StallLimit time.Duration
}

// Stream packetizes each access unit once and hands the same packets to
// every subscriber without ever blocking on one.
type Stream struct {
	cfg       StreamConfig
	packetize packetizer
	tsBase    uint32
	ssrc      uint32

	mu       sync.Mutex
	subs     []*subscriber
	sps, pps []byte
	ready    chan struct{} // closed once the SDP can be written
	last     struct {
		ok      bool
		rtpTS   uint32
		capture time.Duration
	}
	frames, bytes uint64

	pool burstPool
}

// ErrNotReady means the stream has not yet seen the parameter sets it needs
// to describe itself.
var ErrNotReady = errors.New("stream: no parameter sets from the encoder yet")

// NewStream checks cfg and builds the stream's packetizer.
func NewStream(cfg StreamConfig) (*Stream, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.FPS <= 0 {
		return nil, fmt.Errorf("stream: bad mode %dx%d @%d fps", cfg.Width, cfg.Height, cfg.FPS)
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = max(2*cfg.FPS, 8)
	}
	if cfg.StallLimit <= 0 {
		cfg.StallLimit = 10 * time.Second
	}
	ssrc := rand.Uint32()
	p, err := newPacketizer(cfg.Codec, cfg.Width, cfg.Height, cfg.PayloadMaxSize, ssrc)
	if err != nil {
		return nil, err
	}
	s := &Stream{cfg: cfg, packetize: p, tsBase: rand.Uint32(), ssrc: ssrc, ready: make(chan struct{})}
	if cfg.Codec != encode.H264 || (len(cfg.SPS) > 0 && len(cfg.PPS) > 0) {
		s.sps, s.pps = bytes.Clone(cfg.SPS), bytes.Clone(cfg.PPS)
		close(s.ready)
	}
	return s, nil
}

// SSRC is the synchronization source of the stream's RTP packets.
func (s *Stream) SSRC() uint32 { return s.ssrc }

// Config returns the stream's configuration.
func (s *Stream) Config() StreamConfig { return s.cfg }

// rtpTime converts a capture timestamp to the stream's 90 kHz RTP clock.
// It splits seconds from nanoseconds so the product cannot overflow after
// days of uptime.
func (s *Stream) rtpTime(capture time.Duration) uint32 {
	sec := uint64(capture / time.Second)
	ns := uint64(capture % time.Second)
	return s.tsBase + uint32(sec*ClockRate+ns*ClockRate/uint64(time.Second))
}

// RTPTimeAt extrapolates the RTP timestamp at monotonic instant mono from the
// last frame sent. ok is false before the first frame.
func (s *Stream) RTPTimeAt(mono time.Duration) (ts uint32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.ok {
		return 0, false
	}
	return s.last.rtpTS + uint32(int64(mono-s.last.capture)*ClockRate/int64(time.Second)), true
}

// WriteAccessUnit packetizes au and queues it on every subscriber. It never
// blocks on a subscriber. Call it from one goroutine (the capture loop).
func (s *Stream) WriteAccessUnit(au *encode.AccessUnit) error {
	if au.Codec != s.cfg.Codec {
		return fmt.Errorf("stream: access unit is %v, stream is %v", au.Codec, s.cfg.Codec)
	}
	b := s.pool.get()
	b.capture = au.Timestamp
	b.rtpTS = s.rtpTime(au.Timestamp)
	b.key = au.Keyframe
	if err := s.packetize(&b.pkts, au, b.rtpTS); err != nil {
		b.release()
		return err
	}
	if au.Codec == encode.H264 {
		s.learnParameterSets(au.NALUs)
	}

	s.mu.Lock()
	s.last.ok, s.last.rtpTS, s.last.capture = true, b.rtpTS, b.capture
	s.frames++
	s.bytes += uint64(b.pkts.Bytes())
	for _, sub := range s.subs {
		sub.offer(b, s.cfg.StallLimit)
	}
	s.mu.Unlock()
	b.release()
	return nil
}

func (s *Stream) learnParameterSets(nalus [][]byte) {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			if !bytes.Equal(n, s.sps) {
				s.mu.Lock()
				s.sps = bytes.Clone(n)
				s.mu.Unlock()
			}
		case 8:
			if !bytes.Equal(n, s.pps) {
				s.mu.Lock()
				s.pps = bytes.Clone(n)
				s.mu.Unlock()
			}
		}
	}
	select {
	case <-s.ready:
	default:
		s.mu.Lock()
		if len(s.sps) > 0 && len(s.pps) > 0 {
			close(s.ready)
		}
		s.mu.Unlock()
	}
}

// ParameterSets waits up to timeout for the H.264 SPS and PPS.
func (s *Stream) ParameterSets(timeout time.Duration) (sps, pps []byte, err error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.ready:
	case <-t.C:
		return nil, nil, ErrNotReady
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sps, s.pps, nil
}

func (s *Stream) subscribe(depth int, onStall func()) *subscriber {
	if depth <= 0 {
		depth = s.cfg.QueueFrames
	}
	sub := newSubscriber(depth, onStall)
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	return sub
}

// unsubscribe removes sub and releases whatever it still had queued.
func (s *Stream) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	for i, x := range s.subs {
		if x == sub {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	sub.drain()
}

// Stats is a snapshot of a stream's counters.
type Stats struct {
	Frames, Bytes uint64
	Subscribers   int
}

// Stats returns the stream's counters since it started.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Frames: s.frames, Bytes: s.bytes, Subscribers: len(s.subs)}
}
