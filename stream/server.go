// Package stream serves camagent's video over RTSP (RFC 2326), RTP
// (RFC 3550) and RTCP: one Stream packetizes each access unit once, and the
// Server fans the packets out to every viewer's session without ever letting
// a slow viewer hold up the camera.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/stream/report"
	"github.com/camagent/camagent/stream/rtsp"
)

// Feedback receives what viewers report about the stream: RTCP receiver
// reports and keyframe requests (PLI/FIR). rtcpctl implements it.
type Feedback interface {
	// ReceiverReport is called for each receiver report block about our stream.
	ReceiverReport(session string, rr report.ReceiverReport)
	// KeyframeRequest is called on PLI or FIR ("pli" or "fir").
	KeyframeRequest(session string, kind string)
	// SessionClosed forgets a session.
	SessionClosed(session string)
}

// Multicast configures the one shared multicast transmission.
type Multicast struct {
	Group netip.Addr // zero = multicast disabled
	Port  int        // RTP port; RTCP is Port+1
	TTL   int
	// Interface names the network interface to send on; "" = the routing table's choice.
	Interface string
}

// Config configures a Server.
type Config struct {
	Addr string // RTSP listen address, e.g. ":554"
	Path string // the stream's path, e.g. "stream1"
	// RTPPort is the server's UDP RTP port (even); RTCP is RTPPort+1.
	// 0 picks a free pair.
	RTPPort   int
	Multicast Multicast
	// Auth, when non-nil, is required for every method but OPTIONS.
	Auth *rtsp.Authenticator

	SessionTimeout time.Duration // default 60 s
	MaxSessions    int           // default 20
	// RequestTimeout bounds how long a request may take to arrive once its
	// first byte has. Default 10 s.
	RequestTimeout time.Duration
	// SenderReportInterval is the longest time between RTCP sender reports. Default 5 s.
	SenderReportInterval time.Duration

	Feedback Feedback
	// RequestKeyframe asks the encoder for a keyframe (a viewer started playing
	// or resumed). It must not block.
	RequestKeyframe func()
	Logger          *slog.Logger
	// Now returns wall-clock time and CLOCK_MONOTONIC read together; sender
	// reports map one to the other. Default: time.Now and capture.Monotonic.
	Now func() (time.Time, time.Duration)
}

// ErrPrivilegedPort means the RTSP port is below 1024 and the process may not bind it.
var ErrPrivilegedPort = errors.New("ports below 1024 need root or CAP_NET_BIND_SERVICE")

// Server is an RTSP server for one Stream.
type Server struct {
	cfg    Config
	stream *Stream
	log    *slog.Logger

	ln       net.Listener
	rtpConn  *net.UDPConn
	rtcpConn *net.UDPConn
	mcast    *multicastSender // nil when multicast is disabled

	mu       sync.Mutex
	sessions map[string]*session
	byRTCP   map[netip.AddrPort]*session // UDP sessions by the client's RTCP address
	conns    map[*conn]struct{}
	closing  bool

	wg       sync.WaitGroup
	stopping atomic.Bool // set once shutdown begins
}

// shutdownWriteTimeout bounds each write to a viewer once shutdown begins.
const shutdownWriteTimeout = 300 * time.Millisecond

// writeTimeout is how long a write to a viewer may block.
func (s *Server) writeTimeout(normal time.Duration) time.Duration {
	if s.stopping.Load() {
		return shutdownWriteTimeout
	}
	return normal
}

// NewServer binds the RTSP listener and the UDP ports, so that a port
// problem shows at start-up.
func NewServer(cfg Config, st *Stream) (*Server, error) {
	if cfg.Path == "" {
		cfg.Path = "stream1"
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 60 * time.Second
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.SenderReportInterval <= 0 {
		cfg.SenderReportInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = func() (time.Time, time.Duration) { return time.Now(), capture.Monotonic() }
	}
	if cfg.RequestKeyframe == nil {
		cfg.RequestKeyframe = func() {}
	}
	s := &Server{
		cfg:      cfg,
		stream:   st,
		log:      cfg.Logger,
		sessions: map[string]*session{},
		byRTCP:   map[netip.AddrPort]*session{},
		conns:    map[*conn]struct{}{},
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("stream: RTSP listen on %s: %w", cfg.Addr, ErrPrivilegedPort)
		}
		return nil, fmt.Errorf("stream: RTSP listen on %s: %w", cfg.Addr, err)
	}
	s.ln = ln
	if err := s.bindUDP(); err != nil {
		ln.Close()
		return nil, err
	}
	if cfg.Multicast.Group.IsValid() {
		m, err := newMulticastSender(s, cfg.Multicast)
		if err != nil {
			s.closeListeners()
			return nil, err
		}
		s.mcast = m
	}
	return s, nil
}

func (s *Server) bindUDP() error {
	host, _, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("stream: RTSP address %q: %w", s.cfg.Addr, err)
	}
	try := func(port int) error {
		rtp, err := net.ListenUDP("udp", udpAddr(host, port))
		if err != nil {
			return err
		}
		rtcp, err := net.ListenUDP("udp", udpAddr(host, port+1))
		if err != nil {
			rtp.Close()
			return err
		}
		s.rtpConn, s.rtcpConn = rtp, rtcp
		return nil
	}
	if s.cfg.RTPPort != 0 {
		if s.cfg.RTPPort%2 != 0 {
			return fmt.Errorf("stream: RTP port %d must be even (RTCP uses the next one)", s.cfg.RTPPort)
		}
		if err := try(s.cfg.RTPPort); err != nil {
			return fmt.Errorf("stream: UDP ports %d-%d: %w", s.cfg.RTPPort, s.cfg.RTPPort+1, err)
		}
		return nil
	}
	var last error
	for range 50 {
		p := 20000 + 2*rand.IntN(20000)
		if last = try(p); last == nil {
			return nil
		}
	}
	return fmt.Errorf("stream: no free UDP port pair for RTP/RTCP: %w", last)
}

func udpAddr(host string, port int) *net.UDPAddr {
	a := &net.UDPAddr{Port: port}
	if host != "" {
		a.IP = net.ParseIP(host)
	}
	return a
}

// Addr is the RTSP listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// RTPPorts returns the server's UDP RTP and RTCP ports.
func (s *Server) RTPPorts() (rtp, rtcp int) {
	return s.rtpConn.LocalAddr().(*net.UDPAddr).Port, s.rtcpConn.LocalAddr().(*net.UDPAddr).Port
}

// Run serves until ctx is done, then says BYE to every viewer and closes.
func (s *Server) Run(ctx context.Context) error {
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.readUDP(s.rtpConn, false) }()
	go func() { defer s.wg.Done(); s.readUDP(s.rtcpConn, true) }()
	go func() { defer s.wg.Done(); s.reap(ctx) }()
	go func() { defer s.wg.Done(); s.summarise(ctx) }()

	errc := make(chan error, 1)
	go func() { errc <- s.accept() }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.shutdown()
	s.wg.Wait()
	return err
}

func (s *Server) accept() error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("stream: accept: %w", err)
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
	}
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closing = true
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// A viewer that stopped reading must not hold up the exit: writes still
	// blocked get a short deadline, and so does the BYE each viewer is sent.
	s.stopping.Store(true)
	for _, c := range conns {
		c.nc.SetWriteDeadline(time.Now().Add(shutdownWriteTimeout))
	}
	var wg sync.WaitGroup
	for _, ss := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.closeSession(ss, "server shutting down")
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.nc.Close()
	}
	s.closeListeners()
}

func (s *Server) closeListeners() {
	s.ln.Close()
	if s.rtpConn != nil {
		s.rtpConn.Close()
		s.rtcpConn.Close()
	}
	if s.mcast != nil {
		s.mcast.close()
	}
}

// readUDP reads what clients send to the server's UDP ports. RTP-port
// packets are NAT punches and are dropped; RTCP is handed to its session.
func (s *Server) readUDP(c *net.UDPConn, isRTCP bool) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !isRTCP {
			continue
		}
		s.mu.Lock()
		ss := s.byRTCP[netip.AddrPortFrom(from.Addr().Unmap(), from.Port())]
		s.mu.Unlock()
		if ss != nil {
			ss.onRTCP(buf[:n])
		}
	}
}

// reap closes sessions that have been silent for longer than the timeout.
func (s *Server) reap(ctx context.Context) {
	period := min(s.cfg.SessionTimeout/4, 5*time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, now := s.cfg.Now()
		var stale []*session
		s.mu.Lock()
		for _, ss := range s.sessions {
			if now-ss.lastSeen() > s.cfg.SessionTimeout {
				stale = append(stale, ss)
			}
		}
		s.mu.Unlock()
		for _, ss := range stale {
			s.closeSession(ss, "timed out: no RTSP request or RTCP from the client")
		}
	}
}

// summarise logs one line a minute while anyone is watching.
func (s *Server) summarise(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	prev := s.stream.Stats()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := s.stream.Stats()
		s.mu.Lock()
		n := len(s.sessions)
		var dropped uint64
		for _, ss := range s.sessions {
			dropped += ss.droppedFrames()
		}
		s.mu.Unlock()
		if n > 0 {
			s.log.Info("streaming", "viewers", n,
				"fps", float64(st.Frames-prev.Frames)/60,
				"kbps", (st.Bytes-prev.Bytes)*8/60/1000,
				"dropped_frames_total", dropped)
		}
		prev = st
	}
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
