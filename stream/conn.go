package stream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/camagent/camagent/stream/report"
	"github.com/camagent/camagent/stream/rtsp"
)

// conn is one RTSP control connection. It reads requests (and, for TCP
// transport, interleaved RTCP) and answers them; writes are shared with the
// TCP sessions' writers under wmu.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote netip.Addr
	log    *slog.Logger

	wmu sync.Mutex
	bw  *bufio.Writer

	mu       sync.Mutex
	sessions map[string]*session // TCP sessions whose packets ride this connection
	channels map[byte]*session   // interleaved RTCP channel → session
}

func newConn(s *Server, nc net.Conn) *conn {
	var remote netip.Addr
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		remote = ap.Addr().Unmap()
	}
	return &conn{
		srv:      s,
		nc:       nc,
		remote:   remote,
		log:      s.log.With("client", nc.RemoteAddr().String()),
		bw:       bufio.NewWriterSize(nc, 64<<10),
		sessions: map[string]*session{},
		channels: map[byte]*session{},
	}
}

func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.mu.Lock()
		var tcp []*session
		for _, ss := range c.sessions {
			tcp = append(tcp, ss)
		}
		c.mu.Unlock()
		for _, ss := range tcp {
			c.srv.closeSession(ss, "connection closed")
		}
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
	}()

	br := bufio.NewReaderSize(c.nc, 8<<10)
	rd := rtsp.NewReader(br, rtsp.Limits{})
	idle := c.srv.cfg.SessionTimeout + 10*time.Second
	for {
		// Wait for the first byte of the next message for as long as a
		// session may stay silent, then give the rest of it a short deadline
		// so a trickling client cannot hold the goroutine.
		c.nc.SetReadDeadline(time.Now().Add(idle))
		if _, err := br.Peek(1); err != nil {
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
		req, frame, err := rd.Next()
		if err != nil {
			c.readFailed(err)
			return
		}
		if frame != nil {
			c.onInterleaved(frame.Channel, frame.Data)
			continue
		}
		if !c.handle(req) {
			return
		}
	}
}

// readFailed answers what can be answered about a malformed request, and logs it once.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return
	case errors.As(err, &ne) && ne.Timeout():
		c.log.Debug("closing slow or idle RTSP connection")
		return
	}
	code := rtsp.StatusForError(err)
	if code == 0 {
		return
	}
	c.log.Info("bad RTSP request; closing connection", "err", err)
	c.writeResponse(&rtsp.Response{StatusCode: code, Header: rtsp.Header{}}, "")
}

func (c *conn) writeResponse(res *rtsp.Response, cseq string) {
	if cseq != "" {
		res.Header.Set("CSeq", cseq)
	}
	res.Header.Set("Server", "camagent")
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
	if err := res.Write(c.bw); err == nil {
		c.bw.Flush()
	}
}

func (c *conn) onInterleaved(ch byte, data []byte) {
	c.mu.Lock()
	ss := c.channels[ch]
	c.mu.Unlock()
	if ss != nil {
		ss.onRTCP(data)
	}
}

func (c *conn) forget(ss *session) {
	c.mu.Lock()
	delete(c.sessions, ss.id)
	for ch, x := range c.channels {
		if x == ss {
			delete(c.channels, ch)
		}
	}
	c.mu.Unlock()
}

const publicMethods = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

// handle answers one request. It returns false to close the connection.
func (c *conn) handle(req *rtsp.Request) bool {
	cseq := req.Header.Get("CSeq")
	res := &rtsp.Response{StatusCode: 200, Header: rtsp.Header{}}
	if cseq == "" {
		res.StatusCode = 400
		c.writeResponse(res, "")
		return false
	}
	var after func()
	if req.Method != "OPTIONS" && !c.authorize(req, res) {
		c.writeResponse(res, cseq)
		return res.StatusCode != 403
	}
	switch req.Method {
	case "OPTIONS":
		res.Header.Set("Public", publicMethods)
		c.touchSession(req)
	case "DESCRIBE":
		c.describe(req, res)
	case "SETUP":
		c.setup(req, res)
	case "PLAY":
		after = c.play(req, res)
	case "PAUSE":
		if ss := c.session(req, res); ss != nil {
			ss.pause()
		}
	case "TEARDOWN":
		if ss := c.session(req, res); ss != nil {
			c.srv.closeSession(ss, "TEARDOWN")
		}
	case "GET_PARAMETER", "SET_PARAMETER":
		c.touchSession(req)
	case "ANNOUNCE", "RECORD", "REDIRECT":
		res.StatusCode = 405
		res.Header.Set("Allow", publicMethods)
	default:
		res.StatusCode = 501
		res.Header.Set("Public", publicMethods)
	}
	c.writeResponse(res, cseq)
	if after != nil {
		after()
	}
	return true
}

func (c *conn) authorize(req *rtsp.Request, res *rtsp.Response) bool {
	a := c.srv.cfg.Auth
	if a == nil {
		return true
	}
	err := a.Check(req.Method, req.Header.Get("Authorization"), c.remote.String())
	switch {
	case err == nil:
		return true
	case errors.Is(err, rtsp.ErrTooManyAttempts):
		res.StatusCode = 403
		c.log.Warn("refusing client after repeated failed logins", "err", err)
	case errors.Is(err, rtsp.ErrStaleNonce):
		res.StatusCode = 401
		res.Header.Set("WWW-Authenticate", a.StaleChallenge())
	default:
		res.StatusCode = 401
		res.Header.Set("WWW-Authenticate", a.Challenge())
		if !errors.Is(err, rtsp.ErrNoCredentials) {
			c.log.Info("failed login", "err", err)
		}
	}
	return false
}

// matchPath checks that a request URL names our stream, optionally with a
// track suffix. It returns the remainder after the stream path.
func (c *conn) matchPath(req *rtsp.Request) (rest string, ok bool) {
	u, err := req.ParseURL()
	if err != nil {
		return "", false
	}
	p := strings.Trim(u.Path, "/")
	want := strings.Trim(c.srv.cfg.Path, "/")
	if p == want {
		return "", true
	}
	if strings.HasPrefix(p, want+"/") {
		return strings.TrimPrefix(p, want+"/"), true
	}
	return "", false
}

func (c *conn) baseURL(req *rtsp.Request) string {
	u, err := req.ParseURL()
	if err != nil {
		return "rtsp://" + c.nc.LocalAddr().String() + "/" + c.srv.cfg.Path + "/"
	}
	return "rtsp://" + u.Host + "/" + strings.Trim(c.srv.cfg.Path, "/") + "/"
}

func (c *conn) describe(req *rtsp.Request, res *rtsp.Response) {
	if _, ok := c.matchPath(req); !ok {
		res.StatusCode = 404
		return
	}
	body, err := c.srv.sdp(c.nc.LocalAddr())
	if err != nil {
		c.log.Warn("cannot describe the stream", "err", err)
		res.StatusCode = 503
		return
	}
	res.Header.Set("Content-Base", c.baseURL(req))
	res.Header.Set("Content-Type", "application/sdp")
	res.Body = body
}

func (c *conn) setup(req *rtsp.Request, res *rtsp.Response) {
	rest, ok := c.matchPath(req)
	if !ok || (rest != "" && rest != trackControl) {
		res.StatusCode = 404
		return
	}
	if req.Header.Get("Session") != "" {
		// One track: a second SETUP in the same session has nothing to add.
		res.StatusCode = 459
		return
	}
	ts, err := rtsp.ParseTransport(req.Header.Get("Transport"))
	if err != nil || len(ts) == 0 {
		res.StatusCode = 461
		return
	}
	s := c.srv
	s.mu.Lock()
	full := len(s.sessions) >= s.cfg.MaxSessions
	s.mu.Unlock()
	if full {
		c.log.Warn("refusing viewer: session limit reached", "max_sessions", s.cfg.MaxSessions)
		res.StatusCode = 453
		return
	}
	_, now := s.cfg.Now()
	ss := &session{
		id:      newSessionID(),
		srv:     s,
		remote:  c.remote,
		agent:   req.Header.Get("User-Agent"),
		sender:  report.NewSender(s.stream.SSRC(), ClockRate, "camagent"),
		created: now,
		seq:     uint16(mrand.Uint32()),
	}
	var reply rtsp.Transport
	chosen := false
	for _, t := range ts {
		if reply, chosen = c.chooseTransport(ss, t); chosen {
			break
		}
	}
	if !chosen {
		res.StatusCode = 461
		return
	}
	ss.log = c.log.With("session", ss.id, "transport", ss.kind.String())
	ss.touch()

	s.mu.Lock()
	if s.closing || len(s.sessions) >= s.cfg.MaxSessions {
		s.mu.Unlock()
		res.StatusCode = 453
		return
	}
	s.sessions[ss.id] = ss
	if ss.kind == overUDP {
		s.byRTCP[ss.rtcpAddr] = ss
	}
	s.mu.Unlock()
	if ss.kind == overTCP {
		c.mu.Lock()
		c.sessions[ss.id] = ss
		c.channels[ss.rtcpChannel] = ss
		c.mu.Unlock()
	}
	res.Header.Set("Transport", reply.String())
	res.Header.Set("Session", rtsp.FormatSession(ss.id, int(s.cfg.SessionTimeout/time.Second)))
}

// chooseTransport fills ss from a transport the client offered, if the
// server can do it, and returns the Transport to answer with.
func (c *conn) chooseTransport(ss *session, t rtsp.Transport) (rtsp.Transport, bool) {
	s := c.srv
	ssrc := s.stream.SSRC()
	switch {
	case t.TCP():
		ch := t.Interleaved
		if !t.HasInterleaved || ch[0] > 254 {
			ch = c.freeChannels()
		}
		ch[1] = ch[0] + 1
		ss.kind = overTCP
		ss.conn = c
		ss.rtcpChannel = byte(ch[1])
		ss.out = &tcpWriter{c: c, rtpChannel: byte(ch[0]), rtcpChanel: byte(ch[1]), timeout: s.stream.cfg.StallLimit}
		return rtsp.Transport{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: ch, SSRC: ssrc, HasSSRC: true}, true
	case t.Multicast:
		if s.mcast == nil {
			return rtsp.Transport{}, false
		}
		g, port, ttl := s.mcast.transport()
		ss.kind = overMulticast
		return rtsp.Transport{Profile: "RTP/AVP", Multicast: true, Destination: g.String(),
			Port: [2]int{port, port + 1}, TTL: ttl, SSRC: ssrc, HasSSRC: true}, true
	default:
		cp := t.ClientPorts
		if cp[0] <= 0 || cp[0] > 65535 || !c.remote.IsValid() {
			return rtsp.Transport{}, false
		}
		if cp[1] <= 0 || cp[1] > 65535 {
			cp[1] = cp[0] + 1
		}
		rtpPort, rtcpPort := s.RTPPorts()
		ss.kind = overUDP
		ss.rtcpAddr = netip.AddrPortFrom(c.remote, uint16(cp[1]))
		// RTP goes only to the address the RTSP connection came from: a
		// Transport "destination" elsewhere would make us a traffic reflector.
		ss.out = &udpWriter{rtp: s.rtpConn, rtcp: s.rtcpConn,
			rtpDst: netip.AddrPortFrom(c.remote, uint16(cp[0])), rtcpDst: ss.rtcpAddr}
		return rtsp.Transport{Profile: "RTP/AVP", ClientPorts: cp,
			ServerPorts: [2]int{rtpPort, rtcpPort}, SSRC: ssrc, HasSSRC: true}, true
	}
}

func (c *conn) freeChannels() [2]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := 0; ch < 254; ch += 2 {
		if c.channels[byte(ch+1)] == nil {
			return [2]int{ch, ch + 1}
		}
	}
	return [2]int{0, 1}
}

// session finds the request's session, answering 454 if there is none.
func (c *conn) session(req *rtsp.Request, res *rtsp.Response) *session {
	id, _, err := rtsp.ParseSession(req.Header.Get("Session"))
	if err != nil || id == "" {
		res.StatusCode = 454
		return nil
	}
	c.srv.mu.Lock()
	ss := c.srv.sessions[id]
	c.srv.mu.Unlock()
	if ss == nil {
		res.StatusCode = 454
		return nil
	}
	ss.touch()
	res.Header.Set("Session", rtsp.FormatSession(ss.id, int(c.srv.cfg.SessionTimeout/time.Second)))
	return ss
}

// touchSession counts a keepalive (GET_PARAMETER, OPTIONS...) for the
// request's session, if it names one.
func (c *conn) touchSession(req *rtsp.Request) {
	if req.Header.Get("Session") == "" {
		return
	}
	id, _, _ := rtsp.ParseSession(req.Header.Get("Session"))
	c.srv.mu.Lock()
	ss := c.srv.sessions[id]
	c.srv.mu.Unlock()
	if ss != nil {
		ss.touch()
	}
}

func (c *conn) play(req *rtsp.Request, res *rtsp.Response) func() {
	if _, ok := c.matchPath(req); !ok {
		res.StatusCode = 404
		return nil
	}
	ss := c.session(req, res)
	if ss == nil {
		return nil
	}
	if ss.conn != nil && ss.conn != c {
		res.StatusCode = 455
		return nil
	}
	// The first packet will carry the next sequence number; its timestamp
	// will follow "now" on the capture clock.
	ss.mu.Lock()
	seq := ss.seq
	ss.mu.Unlock()
	if ss.kind == overMulticast {
		seq = c.srv.mcast.nextSeq()
	}
	_, mono := c.srv.cfg.Now()
	rtpTime, _ := c.srv.stream.RTPTimeAt(mono)
	res.Header.Set("Range", "npt=0.000-")
	res.Header.Set("RTP-Info", fmt.Sprintf("url=%s%s;seq=%d;rtptime=%d", c.baseURL(req), trackControl, seq, rtpTime))
	ss.log.Info("viewer playing", "agent", ss.agent)
	return func() { ss.play() }
}
