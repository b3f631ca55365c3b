package vmtest

import (
	"testing"
	"time"
)

var dequeueCases = []struct {
	name string
	in   string
	want []Dequeue
	bad  bool
}{
	{"two", "noise\ndq 3.118049 0 3152351000 1\ndq 3.161294 0 3196482000 2\n@@done 0", []Dequeue{
		{Read: 3118049 * time.Microsecond, Timestamp: 3152351000, Sequence: 1},
		{Read: 3161294 * time.Microsecond, Timestamp: 3196482000, Sequence: 2},
	}, false},
	{"nanosecond fraction", "dq 1.000000001 2 5 4294967295", []Dequeue{{Read: time.Second + 1, Minor: 2, Timestamp: 5, Sequence: 1<<32 - 1}}, false},
	{"short", "dq 1.5 0 5", nil, true},
	{"no fraction", "dq 15 0 5 1", nil, true},
	{"negative ts", "dq 1.5 0 -5 1", nil, true},
	{"big seq", "dq 1.5 0 5 4294967296", nil, true},
}

func TestParseDequeues(t *testing.T) {
	for _, c := range dequeueCases {
		got, err := ParseDequeues(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%s: err %v, want error %v", c.name, err, c.bad)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: [%d] = %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func FuzzParseDequeues(f *testing.F) {
	for _, c := range dequeueCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		dqs, err := ParseDequeues(in)
		if err == nil && len(dqs) > maxDequeues {
			t.Fatalf("%d dequeues", len(dqs))
		}
	})
}

// jittery is a driver whose buffers come 40 ms apart ± a few ms, read
// 20 ms (± more) after their timestamps, with a burst of reads after a
// stall at frame 10.
func jittery(n int) []Dequeue {
	dqs := make([]Dequeue, n)
	ts := 5 * time.Second
	for i := range dqs {
		ts += 40*time.Millisecond + time.Duration(i%7-3)*time.Millisecond
		read := ts + 20*time.Millisecond + time.Duration(i%5)*3*time.Millisecond
		if i >= 10 && i < 14 {
			read = ts.Truncate(time.Second) + 14*40*time.Millisecond + time.Duration(i)*time.Millisecond
		}
		dqs[i] = Dequeue{Read: read, Timestamp: ts, Sequence: uint32(i)}
	}
	return dqs
}

func TestMatchFramesDriverTime(t *testing.T) {
	dqs := jittery(60)
	// The viewer joined at buffer 5, and the agent dropped buffer 20.
	var rtp []uint32
	for i := 5; i < 60; i++ {
		if i != 20 {
			rtp = append(rtp, ticks90k(dqs[i].Timestamp)+123456789)
		}
	}
	steps, unmatched := MatchFrames(rtp, dqs, 90)
	if unmatched != 0 || len(steps) != len(rtp)-1 {
		t.Fatalf("%d unmatched, %d steps; want 0, %d", unmatched, len(steps), len(rtp)-1)
	}
	readDiffers := 0
	for _, s := range steps {
		if s.RTP != s.Driver {
			t.Errorf("step %+v: RTP and driver differ", s)
		}
		if d := s.Read - s.Driver; d > 90 || d < -90 {
			readDiffers++
		}
	}
	if readDiffers < 3 {
		t.Errorf("only %d read steps differ from the driver's: the fixture cannot tell them apart", readDiffers)
	}
}

func TestMatchFramesReadTime(t *testing.T) {
	dqs := jittery(60)
	var rtp []uint32
	for _, q := range dqs[5:] {
		rtp = append(rtp, ticks90k(q.Read)+777)
	}
	steps, unmatched := MatchFrames(rtp, dqs, 90)
	bad := unmatched
	for _, s := range steps {
		if d := s.RTP - s.Driver; d > 90 || d < -90 {
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("read-time RTP timestamps passed for driver time")
	}
}

var probeSeeds = []string{
	"mode 640x480 fourcc=0x56595559 interval=1/5\nframe 0 21731816000 21559440428 0x2001 614400\nframe 1 21924533000 21746709128 0x2001 614400",
	"mode 640x480 fourcc=0x56595559 interval=x",
	"frame a b c d e",
}

func TestParseProbe(t *testing.T) {
	pc, err := ParseProbe(probeSeeds[0])
	if err != nil || pc.IntervalNum != 1 || pc.IntervalDen != 5 || len(pc.Frames) != 2 ||
		pc.Frames[1] != (Dequeue{Read: 21746709128, Timestamp: 21924533000, Sequence: 1}) {
		t.Fatalf("got %+v, %v", pc, err)
	}
	for _, s := range probeSeeds[1:] {
		if _, err := ParseProbe(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func FuzzParseProbe(f *testing.F) {
	for _, s := range probeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pc, err := ParseProbe(in)
		if err == nil && len(pc.Frames) > maxDequeues {
			t.Fatalf("%d frames", len(pc.Frames))
		}
	})
}
