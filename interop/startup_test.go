package interop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartupErrorsAreOneLine: a bad setting or an impossible mode stops the
// agent at once with one line that names the setting and what would work.
func TestStartupErrorsAreOneLine(t *testing.T) {
	cases := []struct {
		name   string
		prefix []string
		env    []string
		want   []string
	}{
		{"bad fps", nil, []string{"CAMAGENT_FPS=fast"}, []string{`CAMAGENT_FPS="fast"`, "whole number"}},
		{"bad codec", nil, []string{"CAMAGENT_CODEC=vp9"}, []string{`CAMAGENT_CODEC="vp9"`, "h264, mjpeg"}},
		{"mjpeg too wide", nil, []string{"CAMAGENT_CODEC=mjpeg", "CAMAGENT_WIDTH=2048", "CAMAGENT_HEIGHT=1088"},
			[]string{"2048x1088", "CAMAGENT_CODEC=mjpeg", "2040", "CAMAGENT_CODEC=h264"}},
		{"missing file", nil, []string{"CAMAGENT_SOURCE=file", "CAMAGENT_FILE=/nonexistent/clip.264"}, []string{"clip.264"}},
	}
	if os.Geteuid() == 0 {
		if p, err := exec.LookPath("setpriv"); err == nil {
			cases = append(cases, struct {
				name   string
				prefix []string
				env    []string
				want   []string
			}{"port 554 unprivileged", []string{p, "--reuid=65534", "--regid=65534", "--clear-groups"},
				[]string{"CAMAGENT_RTSP_ADDR=127.0.0.1:554"}, []string{":554", "CAP_NET_BIND_SERVICE", "CAMAGENT_RTSP_ADDR=:8554", "setcap"}})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{}, c.prefix...), agentBin)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CAMAGENT_SOURCE=testsrc", "CAMAGENT_RTP_PORT=0",
				"CAMAGENT_RTSP_ADDR=127.0.0.1:0", "CAMAGENT_LOG_LEVEL=error"}, c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "camagent: ") || len(lines) != 1 {
				t.Fatalf("want exactly one line starting \"camagent: \", got:\n%s", stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					t.Errorf("message lacks %q: %s", w, last)
				}
			}
		})
	}
}

// TestShutdownSaysByeAndExitsPromptly: on SIGTERM a playing TCP viewer gets
// an RTCP BYE, and the agent exits 0 within 2 s.
func TestShutdownSaysByeAndExitsPromptly(t *testing.T) {
	a := startAgent(t)
	c, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	send := func(req string) {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	readResponse := func() map[string]string {
		h := map[string]string{}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "RTSP/1.0 200") {
			t.Fatalf("status %q, %v", status, err)
		}
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
	send(fmt.Sprintf("SETUP %s/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n", a.URL))
	sess, _, _ := strings.Cut(readResponse()["session"], ";")
	send(fmt.Sprintf("PLAY %s RTSP/1.0\r\nCSeq: 2\r\nSession: %s\r\n\r\n", a.URL, sess))
	readResponse()

	// Read interleaved packets until the first RTP arrives, then stop the agent.
	readFrame := func() (byte, []byte, error) {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return 0, nil, err
		}
		if hdr[0] != '$' {
			return 0, nil, fmt.Errorf("not an interleaved frame: %q", hdr)
		}
		data := make([]byte, binary.BigEndian.Uint16(hdr[2:]))
		_, err := io.ReadFull(br, data)
		return hdr[1], data, err
	}
	for {
		ch, _, err := readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if ch == 0 {
			break
		}
	}
	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	gotBye := false
	for !gotBye {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		ch, data, err := readFrame()
		if err != nil {
			break
		}
		if ch == 1 {
			// Walk the compound packet for a BYE (PT 203).
			for off := 0; off+4 <= len(data); off += 4 * (int(binary.BigEndian.Uint16(data[off+2:])) + 1) {
				if data[off+1] == 203 {
					gotBye = true
				}
			}
		}
	}
	if !gotBye {
		t.Error("no RTCP BYE before the connection closed")
	}
	waitExit(t, a, 2*time.Second, start)
}

// waitExit waits for the agent to exit and checks how long it took.
func waitExit(t *testing.T, a *agent, limit time.Duration, since time.Time) {
	t.Helper()
	for time.Since(since) < 10*time.Second {
		if a.cmd.Process.Signal(syscall.Signal(0)) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(since); d > limit {
		t.Errorf("agent took %v to exit after SIGTERM, want under %v", d, limit)
	}
}
