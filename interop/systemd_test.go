package interop

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The systemd tests run a camagent built with -tags camagent_testhooks:
// SIGUSR1 stalls and resumes its source as a hung camera would, and
// CAMAGENT_TEST_STALLED=1 starts it stalled. The build is shared.
var (
	hookedOnce sync.Once
	hookedBin  string
	hookedErr  error
)

func hookedAgentBin(t *testing.T) string {
	t.Helper()
	hookedOnce.Do(func() {
		hookedBin = filepath.Join(filepath.Dir(agentBin), "camagent-testhooks")
		build := exec.Command("go", "build", "-race", "-tags", "camagent_testhooks", "-o", hookedBin, "../cmd/camagent")
		out, err := build.CombinedOutput()
		if err != nil {
			hookedErr = fmt.Errorf("building camagent with test hooks: %v\n%s", err, out)
		}
	})
	if hookedErr != nil {
		t.Fatal(hookedErr)
	}
	return hookedBin
}

// notifySocket is a fake systemd notify socket: a unixgram socket whose
// datagrams (one notify message each) arrive on msgs.
type notifySocket struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	// A short directory: socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ns := &notifySocket{path: filepath.Join(dir, "notify"), msgs: make(chan string, 1000)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ns.msgs)
				return
			}
			ns.msgs <- string(buf[:n])
		}
	}()
	return ns
}

// await returns the first message containing want, failing after limit.
// Messages before it are returned too, for the caller to check.
func (ns *notifySocket) await(t *testing.T, want string, limit time.Duration) (msg string, before []string) {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case m, ok := <-ns.msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %q", want)
			}
			if hasLine(m, want) {
				return m, before
			}
			before = append(before, m)
		case <-deadline:
			t.Fatalf("no %q within %v (got %q)", want, limit, before)
		}
	}
}

// during returns the messages that arrive within d.
func (ns *notifySocket) during(d time.Duration) []string {
	var got []string
	deadline := time.After(d)
	for {
		select {
		case m := <-ns.msgs:
			got = append(got, m)
		case <-deadline:
			return got
		}
	}
}

func hasLine(msg, prefix string) bool {
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func countLines(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if hasLine(m, prefix) {
			n++
		}
	}
	return n
}

// startHooked runs the test-hook build like startAgent runs the plain one,
// with env added, and returns it with a channel that yields its exit.
func startHooked(t *testing.T, env ...string) (*agent, <-chan error) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	cmd := exec.Command(hookedAgentBin(t))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CAMAGENT_SOURCE=testsrc", "CAMAGENT_RTSP_ADDR=" + addr, "CAMAGENT_RTP_PORT=0",
		"CAMAGENT_WIDTH=320", "CAMAGENT_HEIGHT=240", "CAMAGENT_FPS=25", "CAMAGENT_LOG_LEVEL=debug"}, env...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agent{Addr: addr, URL: "rtsp://" + addr + "/stream1", cmd: cmd, logs: logs}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() || testing.Verbose() {
			t.Logf("camagent log:\n%s", logs)
		}
		if strings.Contains(logs.String(), "DATA RACE") {
			t.Errorf("the race detector fired in camagent:\n%s", logs)
		}
	})
	return a, exited
}

// dialListener waits until the agent's RTSP listener accepts a connection.
func dialListener(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RTSP listener %s not up within 30 s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSystemdNotifyAndWatchdog runs the real binary under a fake systemd
// notify socket with a 1 s watchdog: READY=1 comes only once the listener
// is up and frames flow; WATCHDOG=1 pings come while frames flow (with no
// viewer: an idle server is healthy); they stop while the source is
// stalled and resume with it; SIGTERM says STOPPING=1 and exits 0.
func TestSystemdNotifyAndWatchdog(t *testing.T) {
	ns := listenNotify(t)
	a, exited := startHooked(t, "NOTIFY_SOCKET="+ns.path, "WATCHDOG_USEC=1000000", "CAMAGENT_TEST_STALLED=1")

	// The listener comes up, but with no frame there is no READY=1.
	dialListener(t, a.Addr)
	if got := ns.during(2 * time.Second); len(got) != 0 {
		t.Fatalf("sent %q before the first frame, want nothing", got)
	}

	a.cmd.Process.Signal(syscall.SIGUSR1) // frames flow
	ready, _ := ns.await(t, "READY=1", 10*time.Second)
	if !hasLine(ready, "STATUS=streaming 320x240") || !strings.Contains(ready, "0 viewers") {
		t.Errorf("READY message lacks the summary: %q", ready)
	}
	dialListener(t, a.Addr)
	for range 3 {
		ns.await(t, "WATCHDOG=1", 5*time.Second)
	}

	// A hung camera: the pings stop. The first tick without a frame says
	// so in STATUS=; after it no ping may come while the stall lasts.
	a.cmd.Process.Signal(syscall.SIGUSR1)
	ns.await(t, "STATUS=capture stalled", 5*time.Second)
	if got := ns.during(3 * time.Second); countLines(got, "WATCHDOG=1") != 0 {
		t.Fatalf("watchdog pinged while the source was stalled: %q", got)
	}

	a.cmd.Process.Signal(syscall.SIGUSR1) // the camera is back
	ns.await(t, "WATCHDOG=1", 5*time.Second)

	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	ns.await(t, "STOPPING=1", 2*time.Second)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit on SIGTERM: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to exit after SIGTERM, want under 2 s", d)
	}
}

// TestSystemdStalledAtStartStopsPromptly: a camera that never delivers a
// frame never gets READY=1 (systemd's start timeout handles it), and
// SIGTERM still stops the agent at once with status 0.
func TestSystemdStalledAtStartStopsPromptly(t *testing.T) {
	ns := listenNotify(t)
	a, exited := startHooked(t, "NOTIFY_SOCKET="+ns.path, "WATCHDOG_USEC=1000000", "CAMAGENT_TEST_STALLED=1")
	dialListener(t, a.Addr)
	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit on SIGTERM: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to exit after SIGTERM, want under 2 s", d)
	}
	for _, m := range ns.during(100 * time.Millisecond) {
		if hasLine(m, "READY=1") || hasLine(m, "WATCHDOG=1") {
			t.Errorf("sent %q without ever capturing a frame", m)
		}
	}
}

// TestSIGHUPIsIgnored: SIGHUP neither stops nor disturbs the agent (it
// does not reload; docs/deploy.md says so).
func TestSIGHUPIsIgnored(t *testing.T) {
	a := startAgent(t)
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // time for a default handler to kill it
	c, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	defer c.Close()
	fmt.Fprintf(c, "OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\n\r\n", a.URL)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "RTSP/1.0 200") {
		t.Fatalf("OPTIONS after SIGHUP: %q, %v", status, err)
	}
	// startAgent's cleanup checks the clean exit on SIGTERM.
}

// TestSIGTERMWithUDPViewer: on SIGTERM a UDP viewer gets an RTCP BYE on
// its RTCP port, its RTSP connection is closed, and the agent exits 0
// within 2 s. (TestShutdownSaysByeAndExitsPromptly covers TCP viewers.)
func TestSIGTERMWithUDPViewer(t *testing.T) {
	a := startAgent(t)
	rtpConn, rtcpConn := udpPair(t)
	rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port

	c, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	request := func(req string) map[string]string {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "RTSP/1.0 200") {
			t.Fatalf("status %q, %v", status, err)
		}
		h := map[string]string{}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if l = strings.TrimSpace(l); l == "" {
				return h
			}
			k, v, _ := strings.Cut(l, ":")
			h[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	res := request(fmt.Sprintf("SETUP %s/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=%d-%d\r\n\r\n",
		a.URL, rtpPort, rtpPort+1))
	sess, _, _ := strings.Cut(res["session"], ";")
	request(fmt.Sprintf("PLAY %s RTSP/1.0\r\nCSeq: 2\r\nSession: %s\r\n\r\n", a.URL, sess))

	buf := make([]byte, 65536)
	rtpConn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := rtpConn.Read(buf); err != nil {
		t.Fatalf("no RTP before SIGTERM: %v", err)
	}

	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	gotBye := false
	for !gotBye {
		rtcpConn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := rtcpConn.Read(buf)
		if err != nil {
			break
		}
		data := buf[:n]
		for off := 0; off+4 <= len(data); off += 4 * (int(binary.BigEndian.Uint16(data[off+2:])) + 1) {
			if data[off+1] == 203 {
				gotBye = true
			}
		}
	}
	if !gotBye {
		t.Error("no RTCP BYE on the viewer's RTCP port")
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("RTSP connection after SIGTERM: read gave %v, want EOF (closed by the agent)", err)
	}
	waitExit(t, a, 2*time.Second, start)
}

// udpPair binds an even RTP port and the RTCP port after it on loopback.
func udpPair(t *testing.T) (rtp, rtcp *net.UDPConn) {
	t.Helper()
	for range 100 {
		r, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := r.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p == 65535 {
			r.Close()
			continue
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			r.Close()
			continue
		}
		t.Cleanup(func() { r.Close(); c.Close() })
		return r, c
	}
	t.Fatal("no free UDP port pair")
	return nil, nil
}
