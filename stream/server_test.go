package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/testsrc"
	"github.com/camagent/camagent/encode/h264sw"
	"github.com/camagent/camagent/pipeline"
	"github.com/camagent/camagent/stream/report"
)

// testServer runs a real Server fed by testsrc through the pure-Go H.264
// encoder, on loopback.
type testServer struct {
	srv  *Server
	st   *Stream
	addr string
}

func startTestServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	ts, stop := runTestServer(t, mod)
	t.Cleanup(stop)
	return ts
}

// runTestServer starts a test server and returns the function that stops it.
func runTestServer(t testing.TB, mod func(*Config)) (*testServer, func()) {
	t.Helper()
	src, err := testsrc.New(testsrc.Config{Width: 160, Height: 128, FPS: 25})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h264sw.New(h264sw.Config{Width: 160, Height: 128, FPS: 25, GOP: 25})
	if err != nil {
		t.Fatal(err)
	}
	sps, pps := enc.ParameterSets()
	st, err := NewStream(StreamConfig{Codec: 1, Width: 160, Height: 128, FPS: 25, SPS: sps, PPS: pps})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Addr: "127.0.0.1:0", RequestKeyframe: enc.ForceKeyframe}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := NewServer(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	go func() {
		defer wg.Done()
		p := &pipeline.Pipeline{Source: src, Encoder: enc, Sink: st}
		p.Run(ctx)
	}()
	stop := func() { cancel(); wg.Wait(); src.Close() }
	return &testServer{srv: srv, st: st, addr: srv.Addr().String()}, stop
}

// rawClient speaks RTSP by hand so tests control every byte.
type rawClient struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	cseq int
	url  string
}

func dial(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReader(c), url: "rtsp://" + ts.addr + "/stream1"}
}

type response struct {
	code   int
	header map[string]string
	body   string
}

func (rc *rawClient) do(method, url string, hdr ...string) response {
	rc.t.Helper()
	rc.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s RTSP/1.0\r\nCSeq: %d\r\n", method, url, rc.cseq)
	for _, h := range hdr {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		rc.t.Fatal(err)
	}
	return rc.read()
}

// read reads one response, skipping interleaved frames.
func (rc *rawClient) read() response {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		b, err := rc.br.Peek(1)
		if err != nil {
			rc.t.Fatalf("reading response: %v", err)
		}
		if b[0] != '$' {
			break
		}
		rc.readFrame()
	}
	line, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("reading status line: %v", err)
	}
	var res response
	if _, err := fmt.Sscanf(line, "RTSP/1.0 %d", &res.code); err != nil {
		rc.t.Fatalf("bad status line %q", line)
	}
	res.header = map[string]string{}
	for {
		l, err := rc.br.ReadString('\n')
		if err != nil {
			rc.t.Fatal(err)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		res.header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	var n int
	fmt.Sscan(res.header["content-length"], &n)
	body := make([]byte, n)
	io.ReadFull(rc.br, body)
	res.body = string(body)
	return res
}

func (rc *rawClient) readFrame() (ch byte, data []byte) {
	rc.t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.br, hdr[:]); err != nil {
		rc.t.Fatalf("reading interleaved frame: %v", err)
	}
	if hdr[0] != '$' {
		rc.t.Fatalf("expected interleaved frame, got %q", hdr[:])
	}
	data = make([]byte, binary.BigEndian.Uint16(hdr[2:]))
	if _, err := io.ReadFull(rc.br, data); err != nil {
		rc.t.Fatal(err)
	}
	return hdr[1], data
}

func sessionID(res response) string {
	id, _, _ := strings.Cut(res.header["session"], ";")
	return id
}

func TestOptionsDescribeAndErrors(t *testing.T) {
	ts := startTestServer(t, nil)
	rc := dial(t, ts)
	res := rc.do("OPTIONS", rc.url)
	if res.code != 200 || !strings.Contains(res.header["public"], "GET_PARAMETER") {
		t.Fatalf("OPTIONS: %+v", res)
	}
	if res := rc.do("DESCRIBE", "rtsp://"+ts.addr+"/nope"); res.code != 404 {
		t.Fatalf("DESCRIBE other path: %d", res.code)
	}
	res = rc.do("DESCRIBE", rc.url, "Accept: application/sdp")
	if res.code != 200 || res.header["content-type"] != "application/sdp" {
		t.Fatalf("DESCRIBE: %+v", res)
	}
	for _, want := range []string{"m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000", "packetization-mode=1",
		"profile-level-id=42", "sprop-parameter-sets=Z", "a=control:trackID=0", "a=framerate:25", "a=recvonly", "a=rtcp-fb:96 nack pli"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("SDP lacks %q:\n%s", want, res.body)
		}
	}
	if res := rc.do("ANNOUNCE", rc.url); res.code != 405 || res.header["allow"] == "" {
		t.Fatalf("ANNOUNCE: %+v", res)
	}
	if res := rc.do("FROBNICATE", rc.url); res.code != 501 {
		t.Fatalf("unknown method: %+v", res)
	}
	if res := rc.do("PLAY", rc.url, "Session: 0123456789abcdef"); res.code != 454 {
		t.Fatalf("PLAY unknown session: %+v", res)
	}
	if res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/SAVP/FOO;unicast"); res.code != 461 {
		t.Fatalf("SETUP bad transport: %+v", res)
	}
}

func TestMalformedRequestGets400AndClose(t *testing.T) {
	ts := startTestServer(t, nil)
	for _, raw := range []string{
		"GARBAGE\r\n\r\n",
		"OPTIONS rtsp://x/ RTSP/2.0\r\nCSeq: 1\r\n\r\n",
		"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n",
		"OPTIONS rtsp://x/ RTSP/1.0\r\n" + strings.Repeat("X-A: b\r\n", 200) + "\r\n",
	} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(raw))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		all, _ := io.ReadAll(c) // the server must answer and close
		c.Close()
		var code int
		fmt.Sscanf(string(all), "RTSP/1.0 %d", &code)
		if code < 400 || code > 505 {
			t.Errorf("%q: got %q", raw[:20], all)
		}
	}
}

func TestSlowRequestIsCutOff(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("OPTIONS rtsp://x/ RTSP/1.0\r\n")) // and never finish
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("server did not close a trickling connection: %v", err)
	}
}

func TestPlayOverTCPDeliversAccessUnitsFromAnIDR(t *testing.T) {
	ts := startTestServer(t, nil)
	rc := dial(t, ts)
	res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=4-5")
	if res.code != 200 || !strings.Contains(res.header["transport"], "interleaved=4-5") || !strings.Contains(res.header["session"], "timeout=60") {
		t.Fatalf("SETUP: %+v", res)
	}
	id := sessionID(res)
	res = rc.do("PLAY", rc.url, "Session: "+id, "Range: npt=0.000-")
	if res.code != 200 || !strings.Contains(res.header["rtp-info"], "seq=") || !strings.Contains(res.header["rtp-info"], "rtptime=") {
		t.Fatalf("PLAY: %+v", res)
	}
	var firstSeq uint16
	fmt.Sscanf(res.header["rtp-info"][strings.Index(res.header["rtp-info"], "seq="):], "seq=%d", &firstSeq)

	var (
		pkts      int
		frames    int
		lastSeq   uint16
		lastTS    uint32
		gotSR     bool
		tsSteps   []uint32
		firstType byte
	)
	for frames < 30 {
		ch, data := rc.readFrame()
		if ch == 5 {
			gotSR = gotSR || data[1] == 200
			continue
		}
		if ch != 4 {
			t.Fatalf("frame on channel %d", ch)
		}
		var p rtp.Packet
		if err := p.Unmarshal(data); err != nil {
			t.Fatal(err)
		}
		if pkts == 0 {
			if p.SequenceNumber != firstSeq {
				t.Fatalf("first seq %d, RTP-Info said %d", p.SequenceNumber, firstSeq)
			}
			firstType = p.Payload[0] & 0x1f
		} else if p.SequenceNumber != lastSeq+1 {
			t.Fatalf("sequence gap %d → %d", lastSeq, p.SequenceNumber)
		}
		if pkts > 0 && p.Timestamp != lastTS && frames > 0 {
			tsSteps = append(tsSteps, p.Timestamp-lastTS)
		}
		lastSeq, lastTS = p.SequenceNumber, p.Timestamp
		pkts++
		if p.Marker {
			frames++
		}
	}
	// The viewer starts at SPS/PPS (STAP-A, type 24, or SPS, type 7).
	if firstType != 24 && firstType != 7 {
		t.Fatalf("first packet NAL type %d, want SPS or STAP-A", firstType)
	}
	// 25 fps on a 90 kHz clock from the source's timestamps: 3600 ticks a frame.
	for _, d := range tsSteps {
		if d != 3600 {
			t.Fatalf("timestamp step %d, want 3600 (steps %v)", d, tsSteps)
		}
	}
	if !gotSR {
		t.Fatal("no sender report on the RTCP channel")
	}
	if res := rc.do("TEARDOWN", rc.url, "Session: "+id); res.code != 200 {
		t.Fatalf("TEARDOWN: %+v", res)
	}
	waitFor(t, func() bool { return ts.srv.Sessions() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}

func TestSilentSessionIsReapedAndKeepaliveKeepsOneAlive(t *testing.T) {
	const timeout = 400 * time.Millisecond
	ts := startTestServer(t, func(c *Config) { c.SessionTimeout = timeout })
	setup := func(rc *rawClient) string {
		port := 40000 + 2*int(time.Now().UnixNano()%5000)
		res := rc.do("SETUP", rc.url+"/trackID=0", fmt.Sprintf("Transport: RTP/AVP;unicast;client_port=%d-%d", port, port+1))
		if res.code != 200 {
			t.Fatalf("SETUP: %+v", res)
		}
		return sessionID(res)
	}
	alive := dial(t, ts)
	aliveID := setup(alive)
	silent := dial(t, ts)
	silentID := setup(silent)
	if ts.srv.Sessions() != 2 {
		t.Fatalf("%d sessions", ts.srv.Sessions())
	}
	// Keep one alive with GET_PARAMETER for three timeouts.
	for end := time.Now().Add(3 * timeout); time.Now().Before(end); time.Sleep(timeout / 3) {
		if res := alive.do("GET_PARAMETER", alive.url, "Session: "+aliveID); res.code != 200 {
			t.Fatalf("GET_PARAMETER: %+v", res)
		}
	}
	ts.srv.mu.Lock()
	_, aliveOK := ts.srv.sessions[aliveID]
	_, silentOK := ts.srv.sessions[silentID]
	ts.srv.mu.Unlock()
	if !aliveOK || silentOK {
		t.Fatalf("after 3 timeouts: kept-alive session present=%v, silent session present=%v", aliveOK, silentOK)
	}
}

func TestSessionLimit(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.MaxSessions = 2 })
	rc := dial(t, ts)
	for i, want := range []int{200, 200, 453} {
		res := rc.do("SETUP", rc.url+"/trackID=0", fmt.Sprintf("Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d", 2*i, 2*i+1))
		if res.code != want {
			t.Fatalf("SETUP %d: %d, want %d", i, res.code, want)
		}
	}
}

type recordingFeedback struct {
	mu   sync.Mutex
	rrs  []report.ReceiverReport
	keys []string
}

func (f *recordingFeedback) ReceiverReport(_ string, rr report.ReceiverReport) {
	f.mu.Lock()
	f.rrs = append(f.rrs, rr)
	f.mu.Unlock()
}
func (f *recordingFeedback) KeyframeRequest(_ string, kind string) {
	f.mu.Lock()
	f.keys = append(f.keys, kind)
	f.mu.Unlock()
}
func (f *recordingFeedback) SessionClosed(string) {}

var _ capture.Source = (*testsrc.Source)(nil)

func TestRTCPFromClientReachesFeedbackAndKeepsSessionAlive(t *testing.T) {
	fb := &recordingFeedback{}
	ts := startTestServer(t, func(c *Config) { c.Feedback = fb })
	rc := dial(t, ts)
	res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
	id := sessionID(res)
	if res := rc.do("PLAY", rc.url, "Session: "+id); res.code != 200 {
		t.Fatalf("PLAY: %+v", res)
	}
	pkts, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{{SSRC: ts.st.SSRC(), FractionLost: 64, TotalLost: 10, Jitter: 900}}},
		&rtcp.PictureLossIndication{SenderSSRC: 0x1234, MediaSSRC: ts.st.SSRC()},
	})
	if err != nil {
		t.Fatal(err)
	}
	frame := append([]byte{'$', 1, byte(len(pkts) >> 8), byte(len(pkts))}, pkts...)
	if _, err := rc.c.Write(frame); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		return len(fb.rrs) == 1 && len(fb.keys) == 1
	})
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if rr := fb.rrs[0]; rr.FractionLost != 0.25 || rr.TotalLost != 10 || rr.Jitter != 10*time.Millisecond {
		t.Fatalf("receiver report %+v", rr)
	}
	if fb.keys[0] != "pli" {
		t.Fatalf("keyframe request %q", fb.keys[0])
	}
}

// A viewer that stops reading cannot hold up shutdown: its blocked write
// gets a short deadline, and Run returns promptly.
func TestShutdownWithAViewerThatStoppedReading(t *testing.T) {
	st := newTestStream(t, 8, time.Hour)
	srv, err := NewServer(Config{Addr: "127.0.0.1:0"}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	rc := &rawClient{t: t, c: c, br: bufio.NewReader(c), url: "rtsp://" + srv.Addr().String() + "/stream1"}
	res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
	if res := rc.do("PLAY", rc.url, "Session: "+sessionID(res)); res.code != 200 {
		t.Fatalf("PLAY: %+v", res)
	}
	// Never read again, and push 150 KB keyframes until the session's
	// writer is stuck on a full socket and its queue is full too.
	for i := 0; i < 400; i++ {
		st.WriteAccessUnit(h264AU(true, time.Duration(i+1)*40*time.Millisecond, 150_000))
		time.Sleep(2 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with a stuck viewer, want under 2 s", d)
	}
}
