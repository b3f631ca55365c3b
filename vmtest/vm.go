// Package vmtest boots a Debian kernel under QEMU (software emulation) with
// the kernel's vivid virtual camera, runs the real camagent binary inside,
// and lets tests on the host drive the guest and play its stream. The
// scripts under scripts/vm do the fetching, initramfs building and booting;
// this package wires them together:
//
//	vm, err := vmtest.Boot(ctx, vmtest.Config{Arch: "amd64", ...})
//	out, err := vm.Run(ctx, "v4l2probe -info")
//	cmd := vm.HostCommand("ffmpeg", "-i", vm.URL(8554, "stream1"), ...)
//
// The guest's console is its command channel: /init evaluates each line the
// host writes and answers "@@done RC". The network is a TAP device in a
// network namespace made for the VM, so RTP over UDP keeps its ports (QEMU's
// user-mode network rewrites them); host-side clients run in that namespace.
package vmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one VM.
type Config struct {
	// Arch is the guest architecture: "amd64" or "arm64".
	Arch string
	// Repo is the repository root (holding scripts/vm and .cache/vm).
	Repo string
	// Programs maps a guest path (e.g. "/bin/camagent") to the Go package
	// built for the guest there (e.g. "./cmd/camagent"), statically.
	Programs map[string]string
	// Modules are loaded at boot with their dependencies, in order; an
	// argument list may follow a colon ("vivid:n_devs=1").
	Modules []string
	// Subnet is the first three octets of the VM's private /24, used only
	// inside the VM's own network namespace; host .1, guest .2.
	Subnet string
	// Console receives everything the guest prints (may be nil).
	Console io.Writer
}

// VM is a running guest.
type VM struct {
	cfg     Config
	ns      *Netns
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	waitErr error
	BootAt  time.Time     // when QEMU was started
	Ready   time.Duration // from QEMU's start to /init's prompt

	mu      sync.Mutex
	lines   []string
	changed chan struct{}
	runMu   sync.Mutex
}

// HostIP and GuestIP are the two ends of the VM's link.
func (v *VM) HostIP() string  { return v.cfg.Subnet + ".1" }
func (v *VM) GuestIP() string { return v.cfg.Subnet + ".2" }

// URL is an RTSP URL on the guest.
func (v *VM) URL(port int, path string) string {
	return fmt.Sprintf("rtsp://%s:%d/%s", v.GuestIP(), port, path)
}

// Netns is the namespace the VM's link lives in.
func (v *VM) Netns() *Netns { return v.ns }

// Boot fetches the kernel (cached), builds the guest programs and the
// initramfs into workDir, makes the network namespace and starts QEMU,
// returning once /init is ready for commands.
func Boot(ctx context.Context, cfg Config, workDir string) (vm *VM, err error) {
	if cfg.Arch != "amd64" && cfg.Arch != "arm64" {
		return nil, fmt.Errorf("vmtest: unknown arch %q", cfg.Arch)
	}
	if cfg.Subnet == "" {
		cfg.Subnet = "10.213.7"
	}
	scripts := filepath.Join(cfg.Repo, "scripts", "vm")
	out, err := runOut(ctx, cfg.Repo, nil, filepath.Join(scripts, "fetch.sh"), cfg.Arch, filepath.Join(cfg.Repo, ".cache", "vm"))
	if err != nil {
		return nil, fmt.Errorf("vmtest: fetching the kernel: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	kdir := lines[len(lines)-1]

	payload := filepath.Join(workDir, "payload-"+cfg.Arch)
	for guest, pkg := range cfg.Programs {
		dst := filepath.Join(payload, guest)
		env := append(os.Environ(), "GOOS=linux", "GOARCH="+cfg.Arch, "CGO_ENABLED=0")
		if _, err := runOut(ctx, cfg.Repo, env, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, pkg); err != nil {
			return nil, fmt.Errorf("vmtest: building %s for %s: %w", pkg, cfg.Arch, err)
		}
	}
	initrd := filepath.Join(workDir, "initrd-"+cfg.Arch+".gz")
	args := append([]string{kdir, initrd, payload}, cfg.Modules...)
	if err := os.MkdirAll(payload, 0o755); err != nil {
		return nil, err
	}
	if _, err := runOut(ctx, cfg.Repo, nil, filepath.Join(scripts, "initramfs.sh"), args...); err != nil {
		return nil, fmt.Errorf("vmtest: building the initramfs: %w", err)
	}

	ns, err := NewNetns(ctx, cfg.Subnet+".1/24")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ns.Close()
		}
	}()
	vm = &VM{cfg: cfg, ns: ns, exited: make(chan struct{}), changed: make(chan struct{})}
	vm.cmd = exec.Command("ip", "netns", "exec", ns.Name, filepath.Join(scripts, "boot.sh"),
		cfg.Arch, kdir, initrd, "tap:"+ns.Tap, cfg.Subnet+".2/24")
	vm.cmd.Dir = cfg.Repo
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if vm.stdin, err = vm.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := vm.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	vm.cmd.Stderr = vm.cmd.Stdout
	vm.BootAt = time.Now()
	if err := vm.cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: starting QEMU: %w", err)
	}
	go vm.read(stdout)
	go func() {
		vm.waitErr = vm.cmd.Wait()
		close(vm.exited)
	}()
	if _, err := vm.WaitLine(ctx, 0, regexp.MustCompile(`^@@vm-ready`), 120*time.Second); err != nil {
		vm.Close()
		return nil, fmt.Errorf("vmtest: the guest did not come up: %w\n%s", err, vm.Console())
	}
	vm.Ready = time.Since(vm.BootAt)
	return vm, nil
}

func (v *VM) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if w := v.cfg.Console; w != nil {
			fmt.Fprintf(w, "[vm %s] %s\n", v.cfg.Arch, line)
		}
		v.mu.Lock()
		v.lines = append(v.lines, line)
		close(v.changed)
		v.changed = make(chan struct{})
		v.mu.Unlock()
	}
}

// Mark is the position of the next console line, for WaitLine.
func (v *VM) Mark() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.lines)
}

// WaitLine waits for a console line at or after position from matching re
// and returns its position.
func (v *VM) WaitLine(ctx context.Context, from int, re *regexp.Regexp, timeout time.Duration) (int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		v.mu.Lock()
		for i := from; i < len(v.lines); i++ {
			if re.MatchString(v.lines[i]) {
				v.mu.Unlock()
				return i, nil
			}
		}
		from = len(v.lines)
		ch := v.changed
		v.mu.Unlock()
		select {
		case <-ch:
		case <-v.exited:
			return 0, fmt.Errorf("QEMU exited (%v) before a line matching %q", v.waitErr, re)
		case <-deadline.C:
			return 0, fmt.Errorf("no line matching %q within %v", re, timeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Lines returns the console lines in [from, to).
func (v *VM) Lines(from, to int) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.lines[from:to]...)
}

// Console is everything the guest printed so far.
func (v *VM) Console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.lines, "\n")
}

var doneRE = regexp.MustCompile(`@@done (\d+)$`)

// ErrExit is wrapped by Run's error when the guest command failed.
var ErrExit = errors.New("vmtest: guest command failed")

// Run evaluates one shell line in the guest's /init shell (variables and
// background jobs persist between calls) and returns what it printed. A
// non-zero exit status gives an error wrapping ErrExit.
func (v *VM) Run(ctx context.Context, timeout time.Duration, line string) (string, error) {
	if strings.ContainsAny(line, "\n\r") {
		return "", fmt.Errorf("vmtest: a guest command is one line: %q", line)
	}
	v.runMu.Lock()
	defer v.runMu.Unlock()
	from := v.Mark()
	if _, err := io.WriteString(v.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("vmtest: writing to the console: %w", err)
	}
	end, err := v.WaitLine(ctx, from, doneRE, timeout)
	if err != nil {
		return strings.Join(v.Lines(from, v.Mark()), "\n"), fmt.Errorf("vmtest: %q: %w", line, err)
	}
	lines := v.Lines(from, end+1)
	last := lines[len(lines)-1]
	m := doneRE.FindStringSubmatchIndex(last)
	rc, _ := strconv.Atoi(last[m[2]:m[3]])
	// Output without a final newline shares the marker's line.
	lines[len(lines)-1] = last[:m[0]]
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	out := strings.Join(lines, "\n")
	if rc != 0 {
		return out, fmt.Errorf("%w: %q exited with %d:\n%s", ErrExit, line, rc, out)
	}
	return out, nil
}

// HostCommand is a command run on the host inside the VM's network
// namespace, where the guest is reachable.
func (v *VM) HostCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", v.ns.Name, name}, args...)...)
}

// Close powers the guest off (killing QEMU if it does not stop within 10 s)
// and removes the network namespace.
func (v *VM) Close() error {
	io.WriteString(v.stdin, "poweroff -f\n")
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		v.cmd.Process.Kill()
		<-v.exited
	}
	v.stdin.Close()
	return v.ns.Close()
}

func runOut(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}
