package stream

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camagent/camagent/stream/report"
)

type transportKind int

const (
	overUDP transportKind = iota
	overTCP
	overMulticast
)

func (k transportKind) String() string {
	return [...]string{"udp", "tcp", "multicast"}[k]
}

// session is one viewer's RTSP session: a transport, a sequence-number space
// and an RTCP sender, and while playing, a subscription to the stream and a
// writer goroutine.
type session struct {
	id     string
	srv    *Server
	kind   transportKind
	remote netip.Addr
	agent  string
	log    *slog.Logger
	out    packetWriter // nil for multicast sessions
	sender *report.Sender
	// For UDP sessions: where the client's RTCP comes from.
	rtcpAddr netip.AddrPort
	// For TCP sessions: the connection and channels carrying RTP and RTCP.
	conn         *conn
	rtcpChannel  byte
	created      time.Duration
	lastSeenNano atomic.Int64

	mu      sync.Mutex
	playing bool
	closed  bool
	sub     *subscriber
	stop    chan struct{}
	done    chan struct{}
	seq     uint16 // next RTP sequence number; the writer owns it while playing
	frames  uint64
	dropped uint64 // frames dropped in earlier PLAY periods
	// thinning is applied to each PLAY's subscriber (rate adaptation).
	thinning Thinning
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (ss *session) touch() {
	_, now := ss.srv.cfg.Now()
	ss.lastSeenNano.Store(int64(now))
}

func (ss *session) lastSeen() time.Duration { return time.Duration(ss.lastSeenNano.Load()) }

func (ss *session) droppedFrames() uint64 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	d := ss.dropped
	if ss.sub != nil {
		d += ss.sub.dropped.Load()
	}
	return d
}

// play subscribes the session to the stream and starts its writer. It
// returns the sequence number of the first packet it will send.
func (ss *session) play() uint16 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.playing || ss.closed {
		return ss.seq
	}
	ss.playing = true
	if ss.kind == overMulticast {
		ss.srv.mcast.join()
		return ss.srv.mcast.nextSeq()
	}
	ss.stop = make(chan struct{})
	ss.done = make(chan struct{})
	ss.sub = ss.srv.stream.subscribe(0, func() {
		ss.log.Warn("viewer is not keeping up; disconnecting it", "stalled_for", ss.srv.stream.cfg.StallLimit)
		go ss.srv.closeSession(ss, "stalled")
	})
	ss.sub.setThinning(ss.thinning)
	go ss.writeLoop(ss.sub, ss.stop, ss.done)
	ss.srv.cfg.RequestKeyframe()
	return ss.seq
}

// pause stops sending; the session stays open.
func (ss *session) pause() {
	ss.mu.Lock()
	if !ss.playing {
		ss.mu.Unlock()
		return
	}
	ss.playing = false
	if ss.kind == overMulticast {
		ss.mu.Unlock()
		ss.srv.mcast.leave()
		return
	}
	sub, stop, done := ss.sub, ss.stop, ss.done
	ss.mu.Unlock()

	close(stop)
	<-done
	ss.srv.stream.unsubscribe(sub)
	ss.mu.Lock()
	ss.dropped += sub.dropped.Load()
	ss.frames += sub.sent.Load()
	ss.sub = nil
	ss.mu.Unlock()
}

// writeLoop sends queued bursts and periodic sender reports until stop.
func (ss *session) writeLoop(sub *subscriber, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	sr := newSRSchedule(ss.srv.cfg.SenderReportInterval)
	defer sr.stop()
	ss.mu.Lock()
	seq := ss.seq
	ss.mu.Unlock()
	for {
		select {
		case <-stop:
			ss.mu.Lock()
			ss.seq = seq
			ss.mu.Unlock()
			return
		case b := <-sub.queue:
			err := ss.out.writeBurst(b, &seq, ss.sender)
			sub.took(b)
			b.release()
			if err != nil {
				ss.mu.Lock()
				ss.seq = seq
				ss.mu.Unlock()
				go ss.srv.closeSession(ss, "send failed: "+err.Error())
				<-stop
				return
			}
			sr.sent(ss.sendReport)
		case <-sr.C():
			sr.fired(ss.sendReport)
		}
	}
}

func (ss *session) sendReport() {
	wall, mono := ss.srv.cfg.Now()
	if pkt, ok := ss.sender.Report(wall, mono); ok {
		_ = ss.out.writeRTCP(pkt)
	}
}

// onRTCP handles a compound RTCP packet the client sent.
func (ss *session) onRTCP(buf []byte) {
	ss.mu.Lock()
	closed := ss.closed
	ss.mu.Unlock()
	if closed {
		return // a late packet must not bring a closed session back to rtcpctl
	}
	ss.touch()
	wall, _ := ss.srv.cfg.Now()
	in, err := ss.sender.Receive(buf, wall)
	if err != nil {
		ss.log.Debug("bad RTCP from viewer", "err", err)
		return
	}
	fb := ss.srv.cfg.Feedback
	if fb == nil {
		return
	}
	for _, rr := range in.Reports {
		fb.ReceiverReport(ss.id, rr)
	}
	if in.PLI {
		fb.KeyframeRequest(ss.id, "pli")
	}
	if in.FIR {
		fb.KeyframeRequest(ss.id, "fir")
	}
}

// closeSession stops a session, says BYE, frees it and logs once.
func (s *Server) closeSession(ss *session, reason string) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.mu.Unlock()
	ss.pause()
	ss.mu.Lock()
	ss.closed = true
	frames := ss.frames
	ss.mu.Unlock()

	if ss.out != nil {
		wall, mono := s.cfg.Now()
		_ = ss.out.writeRTCP(ss.sender.Bye(wall, mono))
	}
	s.mu.Lock()
	delete(s.sessions, ss.id)
	if ss.kind == overUDP {
		delete(s.byRTCP, ss.rtcpAddr)
	}
	s.mu.Unlock()
	if ss.conn != nil {
		ss.conn.forget(ss)
	}
	if fb := s.cfg.Feedback; fb != nil {
		fb.SessionClosed(ss.id)
	}
	_, now := s.cfg.Now()
	ss.log.Info("viewer left", "reason", reason, "duration", (now - ss.created).Round(time.Second),
		"frames_sent", frames, "frames_dropped", ss.droppedFrames())
}
