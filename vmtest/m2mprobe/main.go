//go:build linux

// Command m2mprobe drives encode/m2m against the kernel's vicodec (FWHT,
// multiplanar=1) inside the test VM, and prints what happened, one
// key=value line per event, for the host-side assertions of
// vmtest/m2m_test.go. It never runs on a user's machine.
//
//	m2mprobe -frames 60 -switch 30 [-device /dev/videoN]
//
// Lines:
//
//	m2m find path=P driver=D card=C                  what Find chose
//	m2m open device=P knobs=K fds=N refcnt=R maps=M  after New
//	m2m frame i=I in_ts=NS out_ts=NS seq=S key=0|1 bytes=B us=U
//	m2m switch at=I gop=G quality=Q                  the controls changed mid-stream
//	m2m stats frames=F coded=C ... mallocs=A measured=M drained=0|1
//	  (heap allocations in M steady-state Encode calls; whether Close's
//	  drain ended with the driver's LAST buffer)
//	m2m closed fds=N refcnt=R maps=M                 after Close
//	m2m baseline fds=N refcnt=R maps=M               before anything was opened
//	m2m reopen round=K frames=F fds=N refcnt=R maps=M
//	m2m done
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode/m2m"
)

func main() {
	device := flag.String("device", "", "encoder node (default: found by m2m.Find)")
	frames := flag.Int("frames", 60, "frames to encode")
	at := flag.Int("switch", 30, "frame at which GOP and quality change")
	gop1 := flag.Int("gop1", 10, "GOP before the switch")
	gop2 := flag.Int("gop2", 4, "GOP after the switch")
	q1 := flag.Int("q1", 95, "quality before the switch")
	q2 := flag.Int("q2", 10, "quality after the switch")
	rounds := flag.Int("reopen", 3, "open/encode/close rounds after the main run")
	w := flag.Int("width", 640, "width")
	h := flag.Int("height", 480, "height")
	debug := flag.Bool("debug", false, "log the encoder's debug lines")
	flag.Parse()

	lvl := slog.LevelInfo
	if *debug {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	// The Go runtime opens its poller's two descriptors (eventpoll,
	// eventfd) on first use; start it before the baseline.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	base := usage()
	fmt.Printf("m2m baseline %s\n", base)

	path, caps, err := m2m.Find(m2m.FWHT, capture.YU12, nil)
	if err != nil {
		fail("find: %v", err)
	}
	fmt.Printf("m2m find path=%s driver=%s card=%q\n", path, caps.Driver, caps.Card)
	if *device == "" {
		*device = path
	}
	mode := capture.Mode{Format: capture.YU12, Width: *w, Height: *h, FPS: 25}
	cfg := m2m.Config{Device: *device, Codec: m2m.FWHT, Input: capture.YU12, Width: *w, Height: *h, FPS: 25,
		GOP: *gop1, Quality: *q1, Logger: log}
	e, err := m2m.New(cfg)
	if err != nil {
		fail("open: %v", err)
	}
	fmt.Printf("m2m open device=%s knobs=%s %s\n", e.Device(), e.Knobs(), usage())

	data := make([]byte, *w**h*3/2)
	start := 1000 * time.Millisecond
	var before, after runtime.MemStats
	var mallocs, measured uint64
	for i := range *frames {
		if i == *at {
			if err := e.SetGOP(*gop2); err != nil {
				fail("SetGOP: %v", err)
			}
			if err := e.SetQuality(*q2); err != nil {
				fail("SetQuality: %v", err)
			}
			fmt.Printf("m2m switch at=%d gop=%d quality=%d\n", i, *gop2, *q2)
		}
		fill(data, *w, *h, i)
		ts := start + time.Duration(i)*40*time.Millisecond
		f := capture.NewFrame(data, ts, uint32(100+i), mode, nil)
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		au, err := e.Encode(f)
		us := time.Since(t0).Microseconds()
		runtime.ReadMemStats(&after)
		if i >= 5 && i != *at {
			mallocs += after.Mallocs - before.Mallocs
			measured++
		}
		if err != nil {
			fail("encode frame %d: %v", i, err)
		}
		if au == nil {
			fmt.Printf("m2m frame i=%d in_ts=%d none\n", i, ts)
			continue
		}
		n := 0
		for _, nal := range au.NALUs {
			n += len(nal)
		}
		key := 0
		if au.Keyframe {
			key = 1
		}
		fmt.Printf("m2m frame i=%d in_ts=%d out_ts=%d seq=%d key=%d bytes=%d us=%d\n", i, ts, au.Timestamp, au.Sequence, key, n, us)
	}
	if err := e.Close(); err != nil {
		fail("close: %v", err)
	}
	st := e.Stats()
	drained := 0
	if st.Drained {
		drained = 1
	}
	fmt.Printf("m2m stats frames=%d coded=%d keyframes=%d errors=%d bytes=%d mallocs=%d measured=%d drained=%d\n", st.Frames, st.Coded, st.Keyframes, st.Errors, st.Bytes, mallocs, measured, drained)
	fmt.Printf("m2m closed %s\n", usage())

	for r := 1; r <= *rounds; r++ {
		e, err := m2m.New(cfg)
		if err != nil {
			fail("reopen %d: %v", r, err)
		}
		n := 0
		for i := range 5 {
			fill(data, *w, *h, i)
			au, err := e.Encode(capture.NewFrame(data, time.Duration(i+1)*40*time.Millisecond, uint32(i), mode, nil))
			if err != nil {
				fail("reopen %d frame %d: %v", r, i, err)
			}
			if au != nil {
				n++
			}
		}
		if err := e.Close(); err != nil {
			fail("reopen %d close: %v", r, err)
		}
		fmt.Printf("m2m reopen round=%d frames=%d %s\n", r, n, usage())
	}
	// An encoder closed without a frame: no drain, nothing left either.
	e, err = m2m.New(cfg)
	if err != nil {
		fail("open idle: %v", err)
	}
	e.Close()
	fmt.Printf("m2m idle %s\n", usage())
	fmt.Println("m2m done")
}

// fill draws frame i: a textured picture (so the quantizer matters) that
// moves by a few pixels per frame (so P-frames have work).
func fill(b []byte, w, h, i int) {
	y := b[:w*h]
	for r := range h {
		for c := range w {
			x := uint32(c+3*i) * 2654435761
			x ^= uint32(r) * 40503
			v := byte((c+2*i)^r) + byte(x>>27)
			y[r*w+c] = v
		}
	}
	cb := b[w*h : w*h+w*h/4]
	cr := b[w*h+w*h/4:]
	for k := range cb {
		cb[k] = byte(128 + (k+i)%32)
		cr[k] = byte(128 - (k/7)%32)
	}
}

// usage is the process's open descriptors, the vicodec module's reference
// count and the process's mappings of video nodes.
func usage() string {
	fds, _ := os.ReadDir("/proc/self/fd")
	var targets []string
	for _, fd := range fds {
		if t, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil {
			targets = append(targets, t)
		}
	}
	maps, _ := os.ReadFile("/proc/self/maps")
	return fmt.Sprintf("fds=%d refcnt=%s m2m_refcnt=%s maps=%d fdlist=%s", len(fds), refcnt("vicodec"), refcnt("v4l2_mem2mem"), strings.Count(string(maps), "/dev/video"), strings.Join(targets, ","))
}

func refcnt(mod string) string {
	b, err := os.ReadFile("/sys/module/" + mod + "/refcnt")
	if err != nil {
		return "none"
	}
	return strings.TrimSpace(string(b))
}

func fail(format string, a ...any) {
	fmt.Printf("m2m error "+format+"\n", a...)
	os.Exit(1)
}
