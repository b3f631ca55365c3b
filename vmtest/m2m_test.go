package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// M2MLine is one "m2m KIND key=value..." line of vmtest/m2mprobe.
type M2MLine struct {
	Kind   string
	Fields map[string]string
}

// Int is field k as an integer (-1 when absent or not a number).
func (l M2MLine) Int(k string) int64 {
	v, err := strconv.ParseInt(l.Fields[k], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// ParseM2M reads m2mprobe's output; other lines are ignored.
func ParseM2M(out string) []M2MLine {
	var lines []M2MLine
	for _, s := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimSpace(s))
		if len(f) < 2 || f[0] != "m2m" {
			continue
		}
		l := M2MLine{Kind: f[1], Fields: map[string]string{}}
		for _, kv := range f[2:] {
			if k, v, ok := strings.Cut(kv, "="); ok {
				l.Fields[k] = strings.Trim(v, `"`)
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// m2mFrame is one coded frame the probe reported.
type m2mFrame struct {
	i, inTS, outTS, seq, bytes, us int64
	key                            bool
}

func mean(v []int64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s int64
	for _, x := range v {
		s += x
	}
	return float64(s) / float64(len(v))
}

// TestVMM2M drives encode/m2m against the kernel's vicodec stateful FWHT
// encoder (multiplanar=1, built out of tree by scripts/vm/vicodec.sh) in
// the VM, with vivid loaded too so that Find has capture nodes to pass
// over. vmtest/m2mprobe does the driving; here the host checks:
//
//   - Find picks vicodec's encoder node (not vivid's, not vicodec's
//     decoders), and the encoder opens it on the multi-planar API.
//   - Every frame goes in and a coded FWHT frame comes out with the
//     frame's own timestamp (carried through the driver from the OUTPUT to
//     the CAPTURE buffer) and sequence number.
//   - Controls mid-stream take effect: before the switch keyframes come
//     every 10 frames (GOP 10), after it every 4; with the quality knob
//     lowered (coarser QP) the P-frames shrink.
//   - Encode allocates nothing per frame in steady state (the Go
//     runtime's malloc count around each call, with the real ioctls).
//   - Close drains: V4L2_ENC_CMD_STOP ends with the driver's LAST buffer.
//   - Teardown leaks nothing: after Close, after three reopen rounds and
//     after an open/close without frames, the probe's descriptors, its
//     mappings of /dev/video* and vicodec's module reference count are
//     back to what they were before the first open.
func TestVMM2M(t *testing.T) {
	arch := vmArch(t)
	if arch != "amd64" {
		t.Skipf("vicodec is built for amd64 only (scripts/vm/vicodec.sh); CAMAGENT_VM_ARCH=%s", arch)
	}
	requireTools(t, arch)
	repo := repoRoot(t)
	kver, err := os.ReadFile(filepath.Join(repo, ".cache", "vm", arch, "kver"))
	require(t, err == nil, "no VM kernel in .cache/vm (run `make test-m2m`)")
	ko := filepath.Join(repo, ".cache", "vm", arch, "root", "lib", "modules", strings.TrimSpace(string(kver)), "updates", "vicodec.ko")
	_, err = os.Stat(ko)
	require(t, err == nil, "vicodec.ko is not built (scripts/vm/vicodec.sh, run by `make test-m2m`)")

	suite := time.Now()
	vm := bootM2MVM(t, arch)
	t.Logf("%s: booted in %v", arch, time.Since(suite).Round(time.Millisecond))

	const frames, switchAt, gop1, gop2 = 60, 30, 10, 4
	start := time.Now()
	out, err := vm.Run(t.Context(), 3*time.Minute, fmt.Sprintf("m2mprobe -frames %d -switch %d -gop1 %d -gop2 %d -q1 95 -q2 10", frames, switchAt, gop1, gop2))
	probeTime := time.Since(start)
	if err != nil {
		t.Fatalf("m2mprobe: %v\n%s", err, out)
	}
	t.Logf("m2mprobe ran in %v", probeTime.Round(time.Millisecond))
	lines := ParseM2M(out)
	by := map[string][]M2MLine{}
	for _, l := range lines {
		by[l.Kind] = append(by[l.Kind], l)
	}
	for _, k := range []string{"baseline", "find", "open", "closed", "idle", "done"} {
		if len(by[k]) == 0 {
			t.Fatalf("m2mprobe printed no %q line:\n%s", k, out)
		}
	}

	find := by["find"][0]
	if find.Fields["driver"] != "vicodec" {
		t.Errorf("Find chose %v, want vicodec's encoder", find.Fields)
	}
	open := by["open"][0]
	t.Logf("opened %s, knobs %s", open.Fields["device"], open.Fields["knobs"])
	if k := open.Fields["knobs"]; !strings.Contains(k, "quality") || !strings.Contains(k, "framerate") || strings.Contains(k, "bitrate") {
		t.Errorf("knobs %q; want framerate and quality (vicodec has QP controls, no bitrate)", k)
	}

	// Frames in, frames out, timestamps carried through.
	var fr []m2mFrame
	for _, l := range by["frame"] {
		if _, none := l.Fields["none"]; none || l.Int("out_ts") < 0 {
			t.Errorf("frame %d: no coded frame", l.Int("i"))
			continue
		}
		fr = append(fr, m2mFrame{i: l.Int("i"), inTS: l.Int("in_ts"), outTS: l.Int("out_ts"), seq: l.Int("seq"),
			bytes: l.Int("bytes"), us: l.Int("us"), key: l.Fields["key"] == "1"})
	}
	if len(fr) != frames {
		t.Fatalf("%d coded frames, want %d:\n%s", len(fr), frames, out)
	}
	var keysA, keysB []int64
	var pA, pB, iA, iB, lat []int64
	for _, f := range fr {
		if f.outTS != f.inTS {
			t.Errorf("frame %d: coded timestamp %d, the frame's was %d", f.i, f.outTS, f.inTS)
		}
		if f.seq != 100+f.i {
			t.Errorf("frame %d: sequence %d, want %d", f.i, f.seq, 100+f.i)
		}
		if f.bytes < 44 {
			t.Errorf("frame %d: %d bytes, shorter than an FWHT header", f.i, f.bytes)
		}
		lat = append(lat, f.us)
		switch {
		case f.i < switchAt && f.key:
			keysA = append(keysA, f.i)
			iA = append(iA, f.bytes)
		case f.i < switchAt:
			pA = append(pA, f.bytes)
		case f.key:
			keysB = append(keysB, f.i)
			iB = append(iB, f.bytes)
		default:
			pB = append(pB, f.bytes)
		}
	}
	t.Logf("keyframes before the switch %v, after %v", keysA, keysB)
	t.Logf("mean bytes: I %.0f -> %.0f, P %.0f -> %.0f (quality 95 -> 10); mean Encode %.1f ms",
		mean(iA), mean(iB), mean(pA), mean(pB), mean(lat)/1000)
	if len(keysA) == 0 || keysA[0] != 0 {
		t.Errorf("the first frame is not a keyframe: keyframes %v", keysA)
	}
	for k := 1; k < len(keysA); k++ {
		if d := keysA[k] - keysA[k-1]; d != gop1 {
			t.Errorf("before the switch keyframes %v are not %d apart", keysA, gop1)
			break
		}
	}
	if len(keysB) < 3 {
		t.Errorf("after the switch to GOP %d, keyframes %v; want one every %d frames", gop2, keysB, gop2)
	}
	for k := 1; k < len(keysB); k++ {
		if d := keysB[k] - keysB[k-1]; d != gop2 {
			t.Errorf("after the switch keyframes %v are not %d apart", keysB, gop2)
			break
		}
	}
	if !(mean(pB) < 0.9*mean(pA)) {
		t.Errorf("P-frames did not shrink after the quality drop: %.0f -> %.0f bytes", mean(pA), mean(pB))
	}
	if len(iB) > 0 && !(mean(iB) < mean(iA)) {
		t.Errorf("I-frames did not shrink after the quality drop: %.0f -> %.0f bytes", mean(iA), mean(iB))
	}

	// No allocation per frame in steady state, through the real ioctls.
	if st := by["stats"]; len(st) == 0 || st[0].Int("measured") < 40 || st[0].Int("mallocs") != 0 {
		t.Errorf("steady-state Encode calls allocated: %v", by["stats"])
	}
	if st := by["stats"]; len(st) == 0 || st[0].Fields["drained"] != "1" {
		t.Errorf("Close's drain (V4L2_ENC_CMD_STOP) did not end with the LAST buffer: %v", by["stats"])
	}

	// Nothing leaks across close and reopen.
	base := by["baseline"][0]
	after := append(append([]M2MLine{by["closed"][0]}, by["reopen"]...), by["idle"][0])
	if len(by["reopen"]) != 3 {
		t.Errorf("%d reopen rounds, want 3", len(by["reopen"]))
	}
	for _, l := range by["reopen"] {
		if l.Int("frames") != 5 {
			t.Errorf("reopen round %d coded %d of 5 frames", l.Int("round"), l.Int("frames"))
		}
	}
	if open.Int("fds") <= base.Int("fds") || open.Int("refcnt") <= base.Int("refcnt") || open.Int("maps") == 0 {
		t.Errorf("while open: %v; baseline %v: the witnesses do not see the open encoder", open.Fields, base.Fields)
	}
	for _, l := range after {
		for _, k := range []string{"fds", "fdlist", "refcnt", "m2m_refcnt", "maps"} {
			if l.Fields[k] != base.Fields[k] {
				t.Errorf("after %s %v: %s=%s, baseline %s", l.Kind, l.Fields, k, l.Fields[k], base.Fields[k])
			}
		}
	}
	// And in the kernel: the module can go, so no file holds it.
	if out, err := vm.Run(t.Context(), 30*time.Second, "rmmod vicodec && echo unloaded"); err != nil || !strings.Contains(out, "unloaded") {
		t.Errorf("rmmod vicodec after the probe: %v %s", err, out)
	}
	t.Logf("%s M2M suite: %v (probe %v)", arch, time.Since(suite).Round(time.Millisecond), probeTime.Round(time.Millisecond))
}

// bootM2MVM boots a VM with vivid and vicodec (multiplanar=1) and the
// probe, and powers it off when the test ends.
func bootM2MVM(t *testing.T, arch string) *VM {
	t.Helper()
	vm, err := Boot(t.Context(), Config{
		Arch:     arch,
		Repo:     repoRoot(t),
		Programs: map[string]string{"/bin/m2mprobe": "./vmtest/m2mprobe"},
		Modules:  []string{"vivid", "vicodec:multiplanar=1"},
		Subnet:   "10.213.9",
		Console:  consoleLog(t),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guest console:\n%s", vm.Console())
		}
		vm.Close()
	})
	return vm
}
