package vmtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dequeue is one VIDIOC_DQBUF as the guest kernel's v4l2_dqbuf tracepoint
// saw it: when the reader got the buffer (the trace clock, set to
// CLOCK_MONOTONIC) and what the driver stamped on it. The kernel records it
// for whichever process dequeues, so it witnesses camagent's capture
// without camagent's cooperation.
type Dequeue struct {
	Read      time.Duration // CLOCK_MONOTONIC when DQBUF returned (µs resolution)
	Minor     int
	Timestamp time.Duration // the driver's v4l2_buffer.timestamp
	Sequence  uint32
}

// TraceSed turns the guest's trace buffer into "dq READ MINOR TS SEQ"
// lines (about 40 bytes instead of 300 per frame on the serial console).
const TraceSed = `sed -n 's/.* \([0-9]*\.[0-9]*\): v4l2_dqbuf: minor = \([0-9]*\),.* timestamp = \([0-9]*\),.* sequence = \([0-9]*\).*/dq \1 \2 \3 \4/p'`

// Bounds on what ParseDequeues accepts from the guest.
const (
	maxDequeues  = 100000
	maxTraceTime = 1 << 40 // seconds; a guest's uptime is far less
)

var errDequeueLine = errors.New("vmtest: bad dq line")

// ParseDequeues reads the "dq" lines TraceSed prints; other lines are
// ignored.
func ParseDequeues(out string) ([]Dequeue, error) {
	var dqs []Dequeue
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "dq" {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("%w: %q", errDequeueLine, line)
		}
		if len(dqs) == maxDequeues {
			return nil, fmt.Errorf("%w: more than %d", errDequeueLine, maxDequeues)
		}
		read, err := parseSeconds(f[1])
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", errDequeueLine, line, err)
		}
		minor, err1 := strconv.ParseUint(f[2], 10, 16)
		ts, err2 := strconv.ParseInt(f[3], 10, 64)
		seq, err3 := strconv.ParseUint(f[4], 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil || ts < 0 {
			return nil, fmt.Errorf("%w: %q: %v", errDequeueLine, line, err)
		}
		dqs = append(dqs, Dequeue{Read: read, Minor: int(minor), Timestamp: time.Duration(ts), Sequence: uint32(seq)})
	}
	return dqs, nil
}

// parseSeconds parses the trace's "SECONDS.MICROSECONDS".
func parseSeconds(s string) (time.Duration, error) {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) == 0 || len(frac) > 9 {
		return 0, fmt.Errorf("time %q: want seconds.fraction", s)
	}
	n, err := strconv.ParseUint(sec, 10, 64)
	if err != nil || n > maxTraceTime {
		return 0, fmt.Errorf("time %q: bad seconds", s)
	}
	f, err := strconv.ParseUint(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time %q: bad fraction", s)
	}
	for range 9 - len(frac) {
		f *= 10
	}
	return time.Duration(n)*time.Second + time.Duration(f), nil
}

// ticks90k converts a CLOCK_MONOTONIC time to the 90 kHz RTP clock,
// modulo 2^32 as RTP timestamps are.
func ticks90k(d time.Duration) uint32 {
	return uint32(int64(d) / 100000 * 9)
}

// Step is one pair of consecutive frames a viewer received, each matched to
// the buffer it was made from.
type Step struct {
	RTP    int32 // RTP timestamp step, 90 kHz ticks
	Driver int32 // driver timestamp step × 90 kHz
	Read   int32 // dequeue (read) time step × 90 kHz
}

// MatchFrames finds, for each RTP frame timestamp (in arrival order), the
// dequeued buffer it came from, assuming RTP = driver timestamp × 90 kHz +
// a constant, within tol ticks. It returns the steps between consecutive
// matched frames and how many RTP frames matched no buffer at all. An agent
// that stamped frames with their read time instead leaves most frames
// unmatched, or gives steps whose Driver and RTP differ.
func MatchFrames(rtp []uint32, dqs []Dequeue, tol int32) (steps []Step, unmatched int) {
	if len(rtp) == 0 || len(dqs) == 0 {
		return nil, len(rtp)
	}
	d := make([]uint32, len(dqs))
	for i, q := range dqs {
		d[i] = ticks90k(q.Timestamp)
	}
	// Try aligning each of the first few RTP frames with each buffer; the
	// alignment that explains the most frames wins.
	bestScore, bestC := -1, uint32(0)
	for j := 0; j < len(rtp) && j < 5; j++ {
		for i := range d {
			c := rtp[j] - d[i]
			score := 0
			for _, r := range rtp {
				if nearest(d, r-c, tol) >= 0 {
					score++
				}
			}
			if score > bestScore {
				bestScore, bestC = score, c
			}
		}
	}
	prev := -1
	for j, r := range rtp {
		k := nearest(d, r-bestC, tol)
		if k < 0 {
			unmatched++
			prev = -1
			continue
		}
		if prev >= 0 {
			steps = append(steps, Step{
				RTP:    int32(r - rtp[j-1]),
				Driver: int32(d[k] - d[prev]),
				Read:   int32(ticks90k(dqs[k].Read) - ticks90k(dqs[prev].Read)),
			})
		}
		prev = k
	}
	return steps, unmatched
}

// nearest is the index of the buffer whose 90 kHz time is within tol of t,
// or -1.
func nearest(d []uint32, t uint32, tol int32) int {
	best, bestDiff := -1, tol+1
	for i, v := range d {
		diff := int32(t - v)
		if diff < 0 {
			diff = -diff
		}
		if diff < bestDiff {
			best, bestDiff = i, diff
		}
	}
	return best
}

// ProbeCapture is what "v4l2probe -frames N" printed: the negotiated frame
// interval and each frame's driver timestamp and read time.
type ProbeCapture struct {
	IntervalNum, IntervalDen uint32
	Frames                   []Dequeue
}

// ParseProbe reads v4l2probe's "mode" and "frame" lines; others are ignored.
func ParseProbe(out string) (ProbeCapture, error) {
	var pc ProbeCapture
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "mode":
			iv, ok := strings.CutPrefix(f[3], "interval=")
			n, d, ok2 := strings.Cut(iv, "/")
			num, err1 := strconv.ParseUint(n, 10, 32)
			den, err2 := strconv.ParseUint(d, 10, 32)
			if !ok || !ok2 || err1 != nil || err2 != nil {
				return pc, fmt.Errorf("vmtest: bad probe line %q", line)
			}
			pc.IntervalNum, pc.IntervalDen = uint32(num), uint32(den)
		case len(f) == 6 && f[0] == "frame":
			if len(pc.Frames) == maxDequeues {
				return pc, fmt.Errorf("vmtest: more than %d probe frames", maxDequeues)
			}
			seq, err1 := strconv.ParseUint(f[1], 10, 32)
			ts, err2 := strconv.ParseInt(f[2], 10, 64)
			read, err3 := strconv.ParseInt(f[3], 10, 64)
			if err := errors.Join(err1, err2, err3); err != nil {
				return pc, fmt.Errorf("vmtest: bad probe line %q: %w", line, err)
			}
			pc.Frames = append(pc.Frames, Dequeue{Read: time.Duration(read), Timestamp: time.Duration(ts), Sequence: uint32(seq)})
		}
	}
	return pc, nil
}
