// Package adapttest proves rate adaptation end to end: the real camagent
// binary streams through a 2 Mbit/s token-bucket bottleneck between two
// network namespaces to real clients (GStreamer over UDP, ffmpeg over TCP),
// with adaptation on and off. It needs root (namespaces, tc) and runs only
// when CAMAGENT_ADAPT_E2E=1 (make test-adapt sets it).
package adapttest

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camagent/camagent/capture/testsrc"
)

const (
	width, height = 1280, 720
	fps           = 25
	quality       = 90 // about 3.5 Mbit/s of the test pattern: measured, see docs/benchmarks.md
	bottleneck    = "2mbit"
	// Timeline of a run, from the client's start.
	warmup  = 6 * time.Second  // unshaped: the baseline latency
	settle  = 30 * time.Second // shaped: time to adapt before measuring
	measure = 15 * time.Second // shaped: the measured window
	recover = 90 * time.Second // unshaped again: time allowed to climb back
)

var agentBin string

func TestMain(m *testing.M) {
	if os.Getenv("CAMAGENT_ADAPT_E2E") != "1" {
		fmt.Println("adapttest: skipped (run with make test-adapt, as root)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "camagent-adapt-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "camagent")
	// No race detector here: it would slow the 720p JPEG encoder below 25 fps.
	build := exec.Command("go", "build", "-o", agentBin, "../cmd/camagent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building camagent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; make test-adapt should have installed it", name)
		}
		t.Skipf("%s not installed (run make test-adapt)", name)
	}
}

// logLine is one line of camagent's log and when the test read it.
type logLine struct {
	at   time.Time
	text string
}

// proc is a process the test started, with its stderr kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []logLine
	done chan struct{}
}

func (p *proc) lines() []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]logLine(nil), p.logs...)
}

func (p *proc) String() string {
	var b strings.Builder
	for _, l := range p.lines() {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// start runs args with env, keeps stderr line by line, and stops the
// process (SIGTERM, then SIGKILL) when the test ends.
func start(t *testing.T, env []string, stdout io.Writer, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(args[0], args[1:]...), done: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p.cmd.Stdout = stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs = append(p.logs, logLine{time.Now(), sc.Text()})
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// decoded is one frame out of the client's decoder.
type decoded struct {
	at  time.Time
	num uint32
	ok  bool // the frame number read back cleanly
}

// frameReader collects the grey frames a client writes to its stdout.
type frameReader struct {
	mu     sync.Mutex
	frames []decoded
	pw     *io.PipeWriter
}

func newFrameReader() *frameReader {
	pr, pw := io.Pipe()
	r := &frameReader{pw: pw}
	go func() {
		buf := make([]byte, width*height)
		for {
			if _, err := io.ReadFull(pr, buf); err != nil {
				pr.CloseWithError(err)
				return
			}
			n, err := testsrc.ReadFrameNumber(buf, width, width, height)
			r.mu.Lock()
			r.frames = append(r.frames, decoded{time.Now(), n, err == nil})
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *frameReader) Write(p []byte) (int, error) { return r.pw.Write(p) }

func (r *frameReader) all() []decoded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]decoded(nil), r.frames...)
}

// result is one run's figures in the measured window.
type result struct {
	client       string
	adapt        bool
	decodable    float64 // % of received frames that can be decoded
	fps          float64 // frames decoded per second
	kbps         float64 // bits on the wire per second
	latency      time.Duration
	latencyMax   time.Duration
	latencyP95   time.Duration
	stepDown     time.Duration // from shaping to the first step (adapt on)
	recovered    time.Duration // from unshaping to the targets (adapt on)
	stepped      bool
	recoveredOK  bool
	cleanNumbers float64 // % of decoded frames whose number reads back
	frames       int     // decoded in the measured window
}

var stepRe = regexp.MustCompile(`msg="adapt step".*settings="([^"]*)"`)

func TestShapedLink(t *testing.T) {
	for _, tool := range []string{"ip", "tc", "tcpdump", "gst-launch-1.0", "ffmpeg"} {
		requireTool(t, tool)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root for network namespaces and tc")
		}
		t.Skip("needs root for network namespaces and tc")
	}
	var results []result
	n := 0
	for _, client := range []string{"gstreamer-udp", "ffmpeg-tcp"} {
		for _, adapt := range []bool{true, false} {
			n++
			name := fmt.Sprintf("%s/adapt=%v", client, adapt)
			t.Run(name, func(t *testing.T) {
				results = append(results, runShaped(t, newLink(t, n), client, adapt))
			})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| client | adaptation | decodable frames | delivered fps | bitrate | latency (median / max) | step-down after | back to target after |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		on, step, rec := "off", "-", "-"
		if r.adapt {
			on = "on"
			if r.stepped {
				step = r.stepDown.Round(100 * time.Millisecond).String()
			}
			if r.recoveredOK {
				rec = r.recovered.Round(time.Second).String()
			}
		}
		lat := "- (nothing decoded)"
		if r.frames > 0 {
			lat = fmt.Sprintf("%v / %v", r.latency.Round(10*time.Millisecond), r.latencyMax.Round(10*time.Millisecond))
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f%% | %.1f | %.0f kbit/s | %s | %s | %s |\n", r.client, on, r.decodable, r.fps, r.kbps,
			lat, step, rec)
	}
	t.Logf("results (%s bottleneck, MJPEG %dx%d@%d quality %d):\n%s", bottleneck, width, height, fps, quality, b.String())
	if out := os.Getenv("ADAPT_RESULTS"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
	if len(results) == 4 {
		for i := 0; i < 4; i += 2 {
			on, off := results[i], results[i+1]
			// The difference adaptation makes: a current picture (TCP) or a
			// whole one (UDP) where off gives neither.
			if on.client == "gstreamer-udp" && !(on.fps > 2*off.fps || on.decodable > off.decodable+20) {
				t.Errorf("UDP: adaptation on (%.1f fps, %.1f%%) is no better than off (%.1f fps, %.1f%%)", on.fps, on.decodable, off.fps, off.decodable)
			}
			if on.client == "ffmpeg-tcp" && !(off.latency > 2*on.latency && off.latency > time.Second) {
				t.Errorf("TCP: latency with adaptation on (%v) is not clearly below off (%v)", on.latency, off.latency)
			}
		}
	}
}

func runShaped(t *testing.T, l *link, client string, adapt bool) result {
	res := result{client: client, adapt: adapt}
	onoff := "off"
	if adapt {
		onoff = "on"
	}
	agent := start(t, []string{"CAMAGENT_SOURCE=testsrc", "CAMAGENT_CODEC=mjpeg",
		fmt.Sprintf("CAMAGENT_WIDTH=%d", width), fmt.Sprintf("CAMAGENT_HEIGHT=%d", height), fmt.Sprintf("CAMAGENT_FPS=%d", fps),
		fmt.Sprintf("CAMAGENT_JPEG_QUALITY=%d", quality), "CAMAGENT_RTSP_ADDR=" + l.srvIP + ":8554", "CAMAGENT_RTP_PORT=0",
		"CAMAGENT_MULTICAST_GROUP=", "CAMAGENT_ADAPT=" + onoff,
		// On the flat test pattern the JPEG quality barely changes the size
		// (3.7 Mbit/s at 95, 3.2 at 25), so a long quality range only costs
		// the controller extra report intervals on its way to the frame rate.
		"CAMAGENT_ADAPT_MIN_QUALITY=70"}, io.Discard, l.inSrv(agentBin)...)
	waitLog(t, agent, "RTSP server ready", 20*time.Second)
	url := "rtsp://" + l.srvIP + ":8554/stream1"

	pcapPath := filepath.Join(t.TempDir(), "cap.pcap")
	dump := start(t, nil, io.Discard, l.inCli("tcpdump", "-i", l.cliDev, "-s", "96", "-B", "16384", "-U", "-w", pcapPath, "host", l.srvIP)...)
	waitLog(t, dump, "listening on", 10*time.Second)

	frames := newFrameReader()
	var cli *proc
	switch client {
	case "gstreamer-udp":
		cli = start(t, nil, frames, l.inCli("gst-launch-1.0", "-q", "rtspsrc", "location="+url, "protocols=udp", "latency=200",
			"!", "rtpjpegdepay", "!", "jpegdec", "!", "videoconvert", "!", "video/x-raw,format=GRAY8", "!", "fdsink", "fd=1")...)
	case "ffmpeg-tcp":
		cli = start(t, nil, frames, l.inCli("ffmpeg", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
			"-an", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")...)
	}
	t0 := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("camagent log:\n%s\nclient log:\n%s", agent, cli)
		}
	}()

	time.Sleep(warmup)
	shapedAt := time.Now()
	l.shape(t, bottleneck)
	time.Sleep(settle)
	from := time.Now()
	time.Sleep(measure)
	to := time.Now()

	if adapt {
		for _, ln := range agent.lines() {
			if ln.at.After(shapedAt) && stepRe.MatchString(ln.text) {
				res.stepped, res.stepDown = true, ln.at.Sub(shapedAt)
				break
			}
		}
		l.unshape(t)
		unshapedAt := time.Now()
		target := fmt.Sprintf("quality %d, %d fps", quality, fps)
		for deadline := unshapedAt.Add(recover); time.Now().Before(deadline) && !res.recoveredOK; time.Sleep(500 * time.Millisecond) {
			for _, ln := range agent.lines() {
				if m := stepRe.FindStringSubmatch(ln.text); m != nil && ln.at.After(unshapedAt) && m[1] == target {
					res.recoveredOK, res.recovered = true, ln.at.Sub(unshapedAt)
				}
			}
		}
	}
	dump.stop()
	cli.stop()
	// A capture that missed packets would count whole frames as broken.
	for _, ln := range dump.lines() {
		if strings.Contains(ln.text, "dropped by kernel") && !strings.HasPrefix(ln.text, "0 ") {
			t.Logf("capture: %s (the decodable share is a lower bound)", ln.text)
		}
	}

	pkts, err := readPcap(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.MustParseAddr(l.srvIP)
	secs := to.Sub(from).Seconds()
	all := frames.all()
	var inWin []decoded
	for _, f := range all {
		if !f.at.Before(from) && f.at.Before(to) {
			inWin = append(inWin, f)
		}
	}
	clean := 0
	for _, f := range inWin {
		if f.ok {
			clean++
		}
	}
	res.fps = float64(len(inWin)) / secs
	res.frames = len(inWin)
	if len(inWin) > 0 {
		res.cleanNumbers = 100 * float64(clean) / float64(len(inWin))
	}
	switch client {
	case "gstreamer-udp":
		received, whole, bytes := rtpFrames(pkts, srv, from, to)
		res.kbps = float64(bytes) * 8 / secs / 1000
		if received > 0 {
			res.decodable = 100 * float64(whole) / float64(received)
		}
	default:
		// Over TCP nothing is lost: every frame received is whole, so what
		// counts is whether the decoder's frames read back cleanly.
		res.kbps = float64(tcpBytes(pkts, srv, from, to)) * 8 / secs / 1000
		res.decodable = res.cleanNumbers
	}
	res.latency, res.latencyP95, res.latencyMax = latency(all, t0, t0.Add(warmup), from, to)
	t.Logf("%s adapt=%s: decodable %.1f%%, %.1f fps, %.0f kbit/s, latency %v (max %v), numbers clean %.1f%%, step-down %v (%v), recovered %v (%v)",
		client, onoff, res.decodable, res.fps, res.kbps, res.latency, res.latencyMax, res.cleanNumbers, res.stepDown, res.stepped, res.recovered, res.recoveredOK)

	if adapt {
		// GStreamer reports every 5 s: step down within about two reports.
		// ffmpeg over TCP sends none: the backlog is sampled every second.
		limit := 12 * time.Second
		if client == "ffmpeg-tcp" {
			limit = 5 * time.Second
		}
		if !res.stepped || res.stepDown > limit {
			t.Errorf("no step down within %v of shaping (stepped %v after %v)", limit, res.stepped, res.stepDown)
		}
		if res.decodable < 95 {
			t.Errorf("only %.1f%% of received frames decodable after adapting, want ≥ 95%%", res.decodable)
		}
		// Bounded: 95% of the frames within 1 s of the unshaped delay (one
		// frame late by a CPU hiccup is not a growing backlog).
		if res.latencyP95 > time.Second {
			t.Errorf("latency after adapting: 95th percentile %v (max %v), want ≤ 1 s", res.latencyP95, res.latencyMax)
		}
		if res.fps < 3 {
			t.Errorf("only %.1f fps delivered after adapting", res.fps)
		}
		if !res.recoveredOK {
			t.Errorf("levels did not return to the targets within %v of unshaping", recover)
		}
	}
	return res
}

// latency is the median, 95th percentile and largest delay, in [from, to), of decoded
// frames beyond the least delay seen while unshaped: a frame numbered n was
// captured n frame intervals after frame 0.
func latency(frames []decoded, t0, warmEnd, from, to time.Time) (med, p95, most time.Duration) {
	delay := func(f decoded) time.Duration {
		return f.at.Sub(t0) - time.Duration(f.num)*time.Second/fps
	}
	base := time.Duration(1 << 62)
	for _, f := range frames {
		if f.ok && f.at.Before(warmEnd) && f.at.After(t0.Add(2*time.Second)) {
			base = min(base, delay(f))
		}
	}
	var ds []time.Duration
	for _, f := range frames {
		if f.ok && !f.at.Before(from) && f.at.Before(to) {
			ds = append(ds, delay(f)-base)
		}
	}
	if len(ds) == 0 || base == time.Duration(1<<62) {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1]
}

func waitLog(t *testing.T, p *proc, substr string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, l := range p.lines() {
			if strings.Contains(l.text, substr) {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%v exited before %q:\n%s", p.cmd.Args, substr, p)
		default:
		}
	}
	t.Fatalf("no %q from %v within %v:\n%s", substr, p.cmd.Args, timeout, p)
}
