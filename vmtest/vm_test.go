package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The VM suite boots QEMU, which takes tens of seconds under software
// emulation, so `go test ./...` skips it; `make test-vm` and
// `make test-vm-arm64` set CAMAGENT_VM_ARCH.
func vmArch(t *testing.T) string {
	arch := os.Getenv("CAMAGENT_VM_ARCH")
	if arch == "" {
		t.Skip("VM tests run with CAMAGENT_VM_ARCH=amd64 or arm64 (make test-vm, make test-vm-arm64)")
	}
	return arch
}

// require fails under CI=true (make test-vm installs everything) and
// skips elsewhere.
func require(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; `make test-vm` should have installed it", what)
	}
	t.Skip(what + " (run `make test-vm`)")
}

func requireTools(t *testing.T, arch string) {
	t.Helper()
	qemu := map[string]string{"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}[arch]
	for _, tool := range []string{qemu, "cpio", "gzip", "modprobe", "depmod", "ip", "apt-get", "dpkg", "ffmpeg"} {
		_, err := exec.LookPath(tool)
		require(t, err == nil, tool+" not found")
	}
	require(t, os.Geteuid() == 0, "the VM's network namespace needs root")
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// bootVM boots one VM with camagent and v4l2probe and vivid loaded, and
// powers it off when the test ends.
func bootVM(t *testing.T, arch string) *VM {
	t.Helper()
	requireTools(t, arch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	start := time.Now()
	vm, err := Boot(ctx, Config{
		Arch: arch,
		Repo: repoRoot(t),
		Programs: map[string]string{
			"/bin/camagent":  "./cmd/camagent",
			"/bin/v4l2probe": "./vmtest/v4l2probe",
		},
		Modules: []string{"vivid", "virtio_net", "virtio_pci"},
		Console: consoleLog(t),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: built and booted in %v (QEMU start to guest ready: %v)", arch, time.Since(start).Round(time.Millisecond), vm.Ready.Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guest console:\n%s", vm.Console())
		}
		vm.Close()
	})
	return vm
}

// consoleLog streams the guest console to stderr with CAMAGENT_VM_CONSOLE=1.
func consoleLog(t *testing.T) *os.File {
	if os.Getenv("CAMAGENT_VM_CONSOLE") != "" {
		return os.Stderr
	}
	return nil
}

func run(t *testing.T, vm *VM, timeout time.Duration, line string) string {
	t.Helper()
	out, err := vm.Run(context.Background(), timeout, line)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// agentEnv is the guest's camagent command line prefix.
func agentEnv(kv ...string) string {
	return strings.Join(append([]string{"CAMAGENT_RTSP_ADDR=:8554", "CAMAGENT_LOG_LEVEL=debug"}, kv...), " ")
}

// startAgent runs camagent in the guest's background, logging to
// /tmp/camagent.log, and waits until it listens.
func startAgent(t *testing.T, vm *VM, env ...string) {
	t.Helper()
	if logs, err := tryStartAgent(t, vm, env...); err != nil {
		t.Fatalf("camagent did not start: %v\n%s", err, logs)
	}
}

// tryStartAgent is startAgent returning camagent's log when it exits or
// does not listen within 30 s.
func tryStartAgent(t *testing.T, vm *VM, env ...string) (string, error) {
	t.Helper()
	run(t, vm, 10*time.Second, agentEnv(env...)+" camagent >/tmp/camagent.log 2>&1 & agent=$!")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := vm.Run(context.Background(), 10*time.Second, "grep -q rtsp:// /tmp/camagent.log"); err == nil {
			return "", nil
		}
		_, gone := vm.Run(context.Background(), 10*time.Second, "kill -0 $agent")
		if gone != nil || time.Now().After(deadline) {
			logs, _ := vm.Run(context.Background(), 10*time.Second, "cat /tmp/camagent.log")
			if gone != nil {
				return logs, errors.New("camagent exited")
			}
			return logs, errors.New("camagent printed no URL within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopAgent stops the background camagent and returns its log.
func stopAgent(t *testing.T, vm *VM) string {
	t.Helper()
	run(t, vm, 20*time.Second, `kill $agent; wait $agent; true`)
	return run(t, vm, 10*time.Second, "cat /tmp/camagent.log")
}

// ffmpegFrames plays url from the host (in the VM's namespace) over
// transport for d of stream time and returns the decoded frame sizes (as
// 8-bit grey, so each is width×height).
func ffmpegFrames(vm *VM, url, transport string, d time.Duration) (sizes []int, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+60*time.Second)
	defer cancel()
	cmd := vm.HostCommand(ctx, "ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", transport,
		"-i", url, "-t", fmt.Sprintf("%.1f", d.Seconds()), "-pix_fmt", "gray", "-f", "framecrc", "-")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, errb.String(), fmt.Errorf("ffmpeg %s: %w\n%s", url, err, errb.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// framecrc: stream, dts, pts, duration, size, crc
		f := strings.Split(sc.Text(), ",")
		if strings.HasPrefix(sc.Text(), "#") || len(f) < 6 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f[4]))
		if err != nil {
			return sizes, errb.String(), fmt.Errorf("ffmpeg framecrc line %q: %w", sc.Text(), err)
		}
		sizes = append(sizes, n)
	}
	return sizes, errb.String(), nil
}

func checkFrames(t *testing.T, what string, sizes []int, min, w, h int) {
	t.Helper()
	if len(sizes) < min {
		t.Errorf("%s: ffmpeg decoded %d frames, want at least %d", what, len(sizes), min)
	}
	for i, n := range sizes {
		if n != w*h {
			t.Errorf("%s: frame %d decoded to %d bytes of grey, want %dx%d", what, i, n, w, h)
			break
		}
	}
}

// TestVM boots one VM and runs the whole suite in it, phase by phase.
func TestVM(t *testing.T) {
	arch := vmArch(t)
	suite := time.Now()
	vm := bootVM(t, arch)

	t.Run("vivid", func(t *testing.T) {
		run(t, vm, 10*time.Second, "test -c /dev/video0")
		out := run(t, vm, 30*time.Second, "v4l2probe -info")
		var driver string
		var caps uint32
		for _, f := range strings.Fields(out) {
			if v, ok := strings.CutPrefix(f, "driver="); ok {
				driver = v
			}
			if v, ok := strings.CutPrefix(f, "device_caps="); ok {
				c, _ := strconv.ParseUint(v, 0, 32)
				caps = uint32(c)
			}
		}
		const videoCapture, streaming = 0x1, 0x04000000
		if driver != "vivid" || caps&videoCapture == 0 || caps&streaming == 0 {
			t.Fatalf("/dev/video0: %q; want driver vivid with VIDEO_CAPTURE and STREAMING", out)
		}
	})

	// The harness itself: the static binary serves its test pattern from
	// the guest to ffmpeg on the host, over TCP and UDP (through the TAP,
	// so RTP/RTCP ports are preserved).
	t.Run("testsrc", func(t *testing.T) {
		startAgent(t, vm, "CAMAGENT_SOURCE=testsrc", "CAMAGENT_WIDTH=320", "CAMAGENT_HEIGHT=240", "CAMAGENT_FPS=25", "CAMAGENT_CODEC=mjpeg")
		for _, tr := range []string{"tcp", "udp"} {
			start := time.Now()
			sizes, stderr, err := ffmpegFrames(vm, vm.URL(8554, "stream1"), tr, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("testsrc over %s: %d frames in %v; ffmpeg said %q", tr, len(sizes), time.Since(start).Round(time.Millisecond), stderr)
			checkFrames(t, "testsrc/"+tr, sizes, 40, 320, 240)
		}
		logs := stopAgent(t, vm)
		if t.Failed() {
			t.Logf("camagent log:\n%s", logs)
		}
	})
	t.Run("v4l2", func(t *testing.T) { testV4L2(t, vm) })
	t.Logf("%s suite: %v", arch, time.Since(suite).Round(time.Millisecond))
}
