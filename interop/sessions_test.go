package interop

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
)

// TestTenViewersAtOnce: ten real clients, mixed UDP and TCP, watch one
// agent at the same time, and each decodes a gap-free run of frames.
func TestTenViewersAtOnce(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	requireTool(t, "gst-launch-1.0")
	a := startAgent(t)

	type viewer struct {
		name string
		run  func(t *testing.T) []uint32
	}
	ff := func(transport string) func(t *testing.T) []uint32 {
		return func(t *testing.T) []uint32 {
			raw := runClient(t, 90*time.Second, ffmpeg, "-v", "error", "-rtsp_transport", transport, "-i", a.URL,
				"-frames:v", "90", "-f", "rawvideo", "-pix_fmt", "gray", "-")
			return frameNumbers(t, raw, 320, 240)
		}
	}
	gst := func(protocol string) func(t *testing.T) []uint32 {
		return func(t *testing.T) []uint32 {
			return frameNumbers(t, gstDecode(t, a.URL, "h264", protocol, 90), 320, 240)
		}
	}
	gort := func(p gortsplib.Protocol) func(t *testing.T) []uint32 {
		return func(t *testing.T) []uint32 {
			aus, _ := gortsplibRead(t, a.URL, "h264", p, 90)
			var annexB []byte
			for _, au := range aus {
				annexB = append(annexB, au...)
			}
			return frameNumbers(t, decodeH264(t, annexB), 320, 240)
		}
	}
	viewers := []viewer{
		{"ffmpeg-udp-1", ff("udp")}, {"ffmpeg-udp-2", ff("udp")}, {"ffmpeg-udp-3", ff("udp")},
		{"ffmpeg-tcp-1", ff("tcp")}, {"ffmpeg-tcp-2", ff("tcp")}, {"ffmpeg-tcp-3", ff("tcp")},
		{"gst-udp", gst("udp")}, {"gst-tcp", gst("tcp")},
		{"gortsplib-udp", gort(gortsplib.ProtocolUDP)}, {"gortsplib-tcp", gort(gortsplib.ProtocolTCP)},
	}
	t.Run("group", func(t *testing.T) {
		for _, v := range viewers {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				checkConsecutive(t, v.run(t), 90)
			})
		}
	})
	// The viewers must really have overlapped (go test runs at most
	// -parallel subtests at once; `make test` passes -parallel 12).
	if most := mostConcurrentViewers(a.logs.String()); most < len(viewers) {
		t.Errorf("at most %d viewers played at once, want %d (run go test with -parallel %d or more)", most, len(viewers), len(viewers))
	}
}

// mostConcurrentViewers replays the agent's "viewer playing" / "viewer left" log lines.
func mostConcurrentViewers(log string) int {
	n, most := 0, 0
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(line, `msg="viewer playing"`):
			n++
			most = max(most, n)
		case strings.Contains(line, `msg="viewer left"`):
			n--
		}
	}
	return most
}

// TestDigestAuth: ffmpeg and GStreamer get in with the right credentials
// and are refused with wrong ones (the right ones go first: repeated
// failures lock an address out for a while).
func TestDigestAuth(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	requireTool(t, "gst-launch-1.0")
	a := startAgent(t, "CAMAGENT_RTSP_USER=viewer", "CAMAGENT_RTSP_PASS=s3cret pass", "CAMAGENT_RTSP_AUTH=digest")
	withCreds := func(user, pass string) string {
		return strings.Replace(a.URL, "rtsp://", "rtsp://"+user+":"+strings.ReplaceAll(pass, " ", "%20")+"@", 1)
	}

	t.Run("ffmpeg-right", func(t *testing.T) {
		raw := runClient(t, 60*time.Second, ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i", withCreds("viewer", "s3cret pass"),
			"-frames:v", "30", "-f", "rawvideo", "-pix_fmt", "gray", "-")
		checkConsecutive(t, frameNumbers(t, raw, 320, 240), 30)
	})
	t.Run("gstreamer-right", func(t *testing.T) {
		raw := gstDecode(t, a.URL, "h264", "tcp", 30, "user-id=viewer", "user-pw=s3cret pass")
		checkConsecutive(t, frameNumbers(t, raw, 320, 240), 30)
	})
	t.Run("ffmpeg-wrong", func(t *testing.T) {
		cmd := exec.Command(ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i", withCreds("viewer", "wrong"),
			"-frames:v", "1", "-f", "null", "-")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "401") {
			t.Fatalf("ffmpeg with a wrong password: err=%v, output:\n%s", err, out)
		}
	})
	t.Run("gstreamer-wrong", func(t *testing.T) {
		gst := requireTool(t, "gst-launch-1.0")
		cmd := exec.Command(gst, "rtspsrc", "location="+a.URL, "protocols=tcp", "user-id=viewer", "user-pw=nope",
			"!", "fakesink")
		out, err := cmd.CombinedOutput()
		if lower := strings.ToLower(string(out)); err == nil || !(strings.Contains(lower, "unauthorized") || strings.Contains(lower, "forbidden")) {
			t.Fatalf("GStreamer with a wrong password: err=%v, output:\n%s", err, out)
		}
	})
}

// TestKeepaliveAndReaping: with a 5 s session timeout, ffmpeg (which sends
// GET_PARAMETER keepalives over UDP) plays on for more than three timeouts
// without a gap, while a session that goes silent after SETUP is reaped.
func TestKeepaliveAndReaping(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	a := startAgent(t, "CAMAGENT_SESSION_TIMEOUT=5s")

	// The silent one: SETUP by hand, then say nothing.
	c, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "SETUP %s/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=39000-39001\r\n\r\n", a.URL)
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	if !strings.HasPrefix(status, "RTSP/1.0 200") {
		t.Fatalf("SETUP: %q", status)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	var raw []byte
	go func() {
		defer wg.Done()
		// 16 s of stream: more than three 5 s timeouts.
		raw = runClient(t, 60*time.Second, ffmpeg, "-v", "error", "-rtsp_transport", "udp", "-i", a.URL,
			"-t", "16", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	}()
	wg.Wait()
	nums := frameNumbers(t, raw, 320, 240)
	checkConsecutive(t, nums, 16*25-5)
	if !strings.Contains(a.logs.String(), "timed out") {
		t.Fatalf("the silent session was not reaped; log:\n%s", a.logs)
	}
	if n := strings.Count(a.logs.String(), "timed out"); n != 1 {
		t.Fatalf("%d sessions timed out, want only the silent one", n)
	}
}

// TestMulticastViewer: ffmpeg joins the multicast transmission. It runs in a
// network namespace of its own, where loopback carries multicast, so
// nothing leaves the machine.
func TestMulticastViewer(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	ip := requireTool(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the multicast test needs root to create a network namespace")
		}
		t.Skip("needs root for a network namespace")
	}
	ns := fmt.Sprintf("camagent-mc-%d", os.Getpid())
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "set", "lo", "multicast", "on"},
		{"-n", ns, "route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			exec.Command(ip, "netns", "del", ns).Run()
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })

	a := startAgentWith(t, []string{ip, "netns", "exec", ns}, "CAMAGENT_MULTICAST_GROUP=239.255.0.7",
		"CAMAGENT_MULTICAST_PORT=5004", "CAMAGENT_MULTICAST_IFACE=lo")
	raw := runClient(t, 60*time.Second, ip, "netns", "exec", ns, ffmpeg, "-v", "error", "-rtsp_transport", "udp_multicast",
		"-i", a.URL, "-frames:v", "90", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	checkConsecutive(t, frameNumbers(t, raw, 320, 240), 90)
}
