package stream

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/camagent/camagent/stream/report"
)

// multicastSender sends the stream once to a multicast group for all
// multicast viewers, while at least one of them is playing.
type multicastSender struct {
	srv    *Server
	cfg    Multicast
	conn   *net.UDPConn
	w      *udpWriter
	sender *report.Sender

	mu      sync.Mutex
	viewers int
	seq     uint16
	sub     *subscriber
	stop    chan struct{}
	done    chan struct{}
}

func newMulticastSender(s *Server, cfg Multicast) (*multicastSender, error) {
	if !cfg.Group.Is4() || !cfg.Group.IsMulticast() {
		return nil, fmt.Errorf("stream: multicast group %v is not an IPv4 multicast address", cfg.Group)
	}
	if cfg.Port <= 0 || cfg.Port%2 != 0 || cfg.Port > 65534 {
		return nil, fmt.Errorf("stream: multicast port %d must be even and below 65535", cfg.Port)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 1
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return nil, fmt.Errorf("stream: multicast socket: %w", err)
	}
	pc := ipv4.NewPacketConn(c)
	if err := pc.SetMulticastTTL(cfg.TTL); err != nil {
		c.Close()
		return nil, fmt.Errorf("stream: multicast TTL %d: %w", cfg.TTL, err)
	}
	_ = pc.SetMulticastLoopback(true)
	if cfg.Interface != "" {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err == nil {
			err = pc.SetMulticastInterface(ifi)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("stream: multicast interface %q: %w", cfg.Interface, err)
		}
	}
	m := &multicastSender{srv: s, cfg: cfg, conn: c, seq: uint16(time.Now().UnixNano())}
	m.w = &udpWriter{
		rtp: c, rtcp: c,
		rtpDst:  netip.AddrPortFrom(cfg.Group, uint16(cfg.Port)),
		rtcpDst: netip.AddrPortFrom(cfg.Group, uint16(cfg.Port+1)),
	}
	m.sender = report.NewSender(s.stream.SSRC(), ClockRate, "camagent-multicast")
	return m, nil
}

func (m *multicastSender) transport() (group netip.Addr, port, ttl int) {
	return m.cfg.Group, m.cfg.Port, m.cfg.TTL
}

func (m *multicastSender) nextSeq() uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// join counts a playing multicast viewer, starting transmission for the first.
func (m *multicastSender) join() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.viewers++
	if m.viewers > 1 {
		m.srv.cfg.RequestKeyframe()
		return
	}
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	m.sub = m.srv.stream.subscribe(0, nil)
	go m.loop(m.sub, m.stop, m.done)
	m.srv.cfg.RequestKeyframe()
}

// leave stops transmission when the last multicast viewer goes.
func (m *multicastSender) leave() {
	m.mu.Lock()
	m.viewers--
	if m.viewers > 0 {
		m.mu.Unlock()
		return
	}
	sub, stop, done := m.sub, m.stop, m.done
	m.sub = nil
	m.mu.Unlock()
	close(stop)
	<-done
	m.srv.stream.unsubscribe(sub)
	wall, mono := m.srv.cfg.Now()
	_ = m.w.writeRTCP(m.sender.Bye(wall, mono))
}

func (m *multicastSender) loop(sub *subscriber, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	sr := newSRSchedule(m.srv.cfg.SenderReportInterval)
	defer sr.stop()
	m.mu.Lock()
	seq := m.seq
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.seq = seq
		m.mu.Unlock()
	}()
	for {
		select {
		case <-stop:
			return
		case b := <-sub.queue:
			_ = m.w.writeBurst(b, &seq, m.sender)
			b.release()
			sr.sent(m.report)
		case <-sr.C():
			sr.fired(m.report)
		}
	}
}

func (m *multicastSender) report() {
	wall, mono := m.srv.cfg.Now()
	if pkt, ok := m.sender.Report(wall, mono); ok {
		_ = m.w.writeRTCP(pkt)
	}
}

func (m *multicastSender) close() { m.conn.Close() }
