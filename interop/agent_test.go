// Package interop drives the real camagent binary with real RTSP clients
// (ffmpeg/ffprobe, GStreamer's rtspsrc, the gortsplib client) and decodes
// what arrives. Under CI=true a missing client fails the test; elsewhere it
// skips.
package interop

import (
	"bufio"
	"bytes"
	"context"
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

	"github.com/camagent/camagent/capture/testsrc"
)

var agentBin string

// agentTags are the build tags the agent under test is built with; tagged
// test files add theirs (e.g. openh264).
var agentTags []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "camagent-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "camagent")
	// The race detector watches the agent while real clients use it.
	build := exec.Command("go", "build", "-race", "-tags", strings.Join(agentTags, ","), "-o", agentBin, "../cmd/camagent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building camagent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireTool finds a client program. Under CI=true its absence fails the
// test: `make test` installs it, so a missing one is a broken install step.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; `make test` should have installed it: %v", name, err)
		}
		t.Skipf("%s not installed (run `make test-deps`)", name)
	}
	return p
}

// agent is a running camagent process.
type agent struct {
	URL  string
	Addr string
	cmd  *exec.Cmd
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAgent runs camagent on a free loopback port with the test pattern at
// 320x240, 25 fps, plus env (KEY=VALUE) overrides, and stops it (SIGTERM,
// expecting a clean exit) when the test ends.
func startAgent(t *testing.T, env ...string) *agent {
	t.Helper()
	return startAgentWith(t, nil, env...)
}

// startAgentWith is startAgent with a command prefix (e.g. ip netns exec NS).
func startAgentWith(t *testing.T, prefix []string, env ...string) *agent {
	t.Helper()
	port := freeTCPPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append(append([]string{}, prefix...), agentBin)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CAMAGENT_SOURCE=testsrc", "CAMAGENT_RTSP_ADDR=" + addr, "CAMAGENT_RTP_PORT=0",
		"CAMAGENT_WIDTH=320", "CAMAGENT_HEIGHT=240", "CAMAGENT_FPS=25", "CAMAGENT_LOG_LEVEL=debug",
		// These tests check that every frame arrives; rate adaptation would
		// rightly thin frames if a starved CI machine looked like a slow
		// link. It has its own end-to-end test (adapttest). A test may
		// override this: the last value of a variable wins.
		"CAMAGENT_ADAPT=off"}
	cmd.Env = append(cmd.Env, env...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agent{Addr: addr, cmd: cmd, logs: logs}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "rtsp://"); i >= 0 {
				select {
				case urls <- sc.Text()[i:]:
				default:
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-urls:
	case err := <-exited:
		t.Fatalf("camagent exited at start-up: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("camagent printed no URL within 30 s\n%s", logs)
	}
	a.URL = "rtsp://" + addr + "/stream1"
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("camagent did not exit cleanly on SIGTERM: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("camagent did not stop within 10 s of SIGTERM")
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("camagent log:\n%s", logs)
		}
		if strings.Contains(logs.String(), "DATA RACE") {
			t.Errorf("the race detector fired in camagent:\n%s", logs)
		}
	})
	return a
}

// runClient runs a client program with a deadline and returns its stdout.
// stderr is kept for the failure message.
func runClient(t *testing.T, timeout time.Duration, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// frameNumbers reads the test pattern's frame number from each 8-bit luma
// frame in raw (width x height, back to back).
func frameNumbers(t *testing.T, raw []byte, width, height int) []uint32 {
	t.Helper()
	size := width * height
	if len(raw)%size != 0 {
		t.Fatalf("%d bytes of raw video is not a whole number of %dx%d frames", len(raw), width, height)
	}
	var nums []uint32
	for off := 0; off+size <= len(raw); off += size {
		n, err := testsrc.ReadFrameNumber(raw[off:off+size], width, width, height)
		if err != nil {
			t.Fatalf("frame %d: cannot read its number: %v", len(nums), err)
		}
		nums = append(nums, n)
	}
	return nums
}

// checkConsecutive asserts at least min frames whose numbers rise by one.
func checkConsecutive(t *testing.T, nums []uint32, min int) {
	t.Helper()
	if len(nums) < min {
		t.Fatalf("decoded %d frames, want at least %d", len(nums), min)
	}
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Fatalf("frame numbers jump from %d to %d at decoded frame %d (all: %v)", nums[i-1], nums[i], i, nums)
		}
	}
}

// readAll drains r into a buffer until EOF.
func readAll(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}
