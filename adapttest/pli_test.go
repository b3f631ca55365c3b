package adapttest

import (
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPLI: GStreamer, seeing packets lost, asks for a keyframe; camagent
// with an encoder that honours ForceKeyframe (h264sw) puts an IDR on the
// wire within one frame interval (40 ms at 25 fps, plus what encoding
// takes). Both instants are taken by a capture on the server's side of the
// link. GStreamer 1.22's rtph264depay (request-keyframe=true) asks with a
// FIR rather than a PLI (it requests all headers); both take the same path
// in camagent, and the test accepts either.
func TestPLI(t *testing.T) {
	for _, tool := range []string{"ip", "tc", "tcpdump", "gst-launch-1.0"} {
		requireTool(t, tool)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root for network namespaces and tc")
		}
		t.Skip("needs root for network namespaces and tc")
	}
	l := newLink(t, 9)
	agent := start(t, []string{"CAMAGENT_SOURCE=testsrc", "CAMAGENT_CODEC=h264", "CAMAGENT_WIDTH=320", "CAMAGENT_HEIGHT=240",
		"CAMAGENT_FPS=25", "CAMAGENT_GOP=500", "CAMAGENT_RTSP_ADDR=" + l.srvIP + ":8554", "CAMAGENT_RTP_PORT=0",
		"CAMAGENT_MULTICAST_GROUP=", "CAMAGENT_ADAPT=off"}, io.Discard, l.inSrv(agentBin)...)
	waitLog(t, agent, "RTSP server ready", 20*time.Second)
	pcapPath := filepath.Join(t.TempDir(), "srv.pcap")
	dump := start(t, nil, io.Discard, l.inSrv("tcpdump", "-i", l.srvDev, "-s", "128", "-B", "16384", "-U", "-w", pcapPath, "udp")...)
	waitLog(t, dump, "listening on", 10*time.Second)
	cli := start(t, nil, io.Discard, l.inCli("gst-launch-1.0", "-q", "rtspsrc", "location=rtsp://"+l.srvIP+":8554/stream1",
		"protocols=udp", "latency=200", "!", "rtph264depay", "request-keyframe=true", "!", "avdec_h264", "!", "fakesink")...)
	time.Sleep(4 * time.Second)
	// A burst of loss: a bottleneck far below the stream's rate, for a second.
	sh(t, "ip", "netns", "exec", l.srvNS, "tc", "qdisc", "replace", "dev", l.srvDev, "root", "tbf", "rate", "100kbit", "burst", "4kbit", "latency", "5ms")
	lossAt := time.Now()
	time.Sleep(time.Second)
	l.unshape(t)
	time.Sleep(3 * time.Second)
	dump.stop()
	cli.stop()

	pkts, err := readPcap(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.MustParseAddr(l.srvIP)
	var pliAt time.Time
	for _, p := range pkts {
		if p.dst == srv && p.at.After(lossAt) && hasKeyframeRequest(p.data) {
			pliAt = p.at
			break
		}
	}
	if pliAt.IsZero() {
		t.Fatalf("no PLI or FIR from GStreamer after the loss\ncamagent:\n%s\nclient:\n%s", agent, cli)
	}
	var idrAt time.Time
	for _, p := range pkts {
		if p.src == srv && p.at.After(pliAt) && startsIDR(p.data) {
			idrAt = p.at
			break
		}
	}
	if idrAt.IsZero() {
		t.Fatalf("no IDR after the keyframe request at %v", pliAt)
	}
	d := idrAt.Sub(pliAt)
	t.Logf("keyframe request at +%v after the loss began; IDR on the wire %v after it", pliAt.Sub(lossAt).Round(time.Millisecond), d.Round(100*time.Microsecond))
	if d > 40*time.Millisecond+20*time.Millisecond {
		t.Errorf("IDR %v after the keyframe request, want within one frame interval (40 ms, +20 ms to encode and send)", d)
	}
}

// hasKeyframeRequest reports whether a compound RTCP packet holds a PLI
// (PT 206, FMT 1) or a FIR (PT 206, FMT 4).
func hasKeyframeRequest(b []byte) bool {
	for len(b) >= 4 && b[0]>>6 == 2 {
		if fmt := b[0] & 0x1f; b[1] == 206 && (fmt == 1 || fmt == 4) {
			return true
		}
		if b[1] < 200 || b[1] > 206 {
			return false
		}
		n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if n > len(b) {
			return false
		}
		b = b[n:]
	}
	return false
}

// startsIDR reports whether an RTP packet starts an H.264 IDR picture:
// SPS (alone or in a STAP-A), an IDR slice, or the first FU-A of one.
func startsIDR(b []byte) bool {
	if len(b) < 14 || b[0]>>6 != 2 || (b[1] >= 200 && b[1] <= 206) {
		return false
	}
	switch b[12] & 0x1f {
	case 5, 7:
		return true
	case 24:
		return len(b) > 15 && b[15]&0x1f == 7
	case 28:
		return b[13]&0x80 != 0 && b[13]&0x1f == 5
	}
	return false
}
