package encode

import (
	"errors"
	"testing"
	"time"
)

// keptOf runs n frames at srcFPS (timestamps from start, plus jitter(i))
// through d and returns the indexes kept.
func keptOf(d *Decimator, start time.Duration, n, srcFPS int, jitter func(int) time.Duration) []int {
	var kept []int
	for i := range n {
		ts := start + time.Duration(i)*time.Second/time.Duration(srcFPS)
		if jitter != nil {
			ts += jitter(i)
		}
		if d.Keep(ts) {
			kept = append(kept, i)
		}
	}
	return kept
}

func TestDecimatorRates(t *testing.T) {
	cases := []struct {
		src, target int
		want        int // frames kept out of 10 s of source
	}{
		{25, 10, 100},
		{25, 20, 200},
		{25, 25, 250},
		{25, 30, 250},
		{30, 15, 300 / 2},
		{30, 1, 10},
		{30, 7, 70},
		{60, 25, 250},
		{5, 10, 50},
	}
	for _, c := range cases {
		var d Decimator
		if err := d.SetRate(c.target); err != nil {
			t.Fatal(err)
		}
		got := len(keptOf(&d, 5*time.Second, 10*c.src, c.src, nil))
		if got < c.want-1 || got > c.want+1 {
			t.Errorf("%d fps -> %d fps: kept %d of %d frames, want %d", c.src, c.target, got, 10*c.src, c.want)
		}
	}
}

func TestDecimatorZeroKeepsAll(t *testing.T) {
	var d Decimator
	if got := len(keptOf(&d, 0, 100, 25, nil)); got != 100 {
		t.Fatalf("kept %d of 100", got)
	}
	d.SetRate(5)
	d.Unlimit()
	if got := len(keptOf(&d, 4*time.Second, 100, 25, nil)); got != 100 {
		t.Fatalf("after Unlimit: kept %d of 100", got)
	}
}

// Jitter of up to a third of the period must not drop frames when the
// target is the source's own rate, and the kept rate stays on target below.
func TestDecimatorJitter(t *testing.T) {
	jit := func(i int) time.Duration { return time.Duration((i*7919)%27-13) * time.Millisecond }
	var d Decimator
	d.SetRate(25)
	if got := len(keptOf(&d, time.Second, 250, 25, jit)); got != 250 {
		t.Errorf("25 -> 25 with jitter: kept %d of 250", got)
	}
	var d2 Decimator
	d2.SetRate(10)
	if got := len(keptOf(&d2, time.Second, 250, 25, jit)); got < 99 || got > 101 {
		t.Errorf("25 -> 10 with jitter: kept %d of 250, want 100", got)
	}
}

func TestDecimatorDeterministic(t *testing.T) {
	run := func() []int {
		var d Decimator
		d.SetRate(12)
		return keptOf(&d, 3*time.Second, 300, 30, func(i int) time.Duration { return time.Duration(i%5) * time.Millisecond })
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("runs differ: %d vs %d frames", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("runs differ at %d: %d vs %d", i, a[i], b[i])
		}
	}
}

// After a pause in capture, the decimator does not burst to catch up.
func TestDecimatorNoBurstAfterPause(t *testing.T) {
	var d Decimator
	d.SetRate(10)
	keptOf(&d, 0, 25, 25, nil)
	// 3 s later, 1 s of frames at 25 fps: about 10 kept, not 40.
	got := len(keptOf(&d, 4*time.Second, 25, 25, nil))
	if got > 12 {
		t.Fatalf("kept %d frames in the second after a pause, want about 10", got)
	}
}

// Timestamps that go backwards (a restarted source) restart the grid.
func TestDecimatorBackwards(t *testing.T) {
	var d Decimator
	d.SetRate(5)
	keptOf(&d, time.Hour, 50, 25, nil)
	if !d.Keep(time.Second) {
		t.Fatal("first frame after timestamps went back was dropped")
	}
	if got := len(keptOf(&d, time.Second+40*time.Millisecond, 125, 25, nil)); got < 24 || got > 26 {
		t.Fatalf("kept %d of 125 after the restart, want 25", got)
	}
}

// A new rate applies from the next frame, measured from the last kept one.
func TestDecimatorRateChange(t *testing.T) {
	var d Decimator
	d.SetRate(1)
	if got := len(keptOf(&d, 0, 250, 25, nil)); got < 9 || got > 11 {
		t.Fatalf("1 fps over 10 s: kept %d, want 10", got)
	}
	d.SetRate(25)
	// The last kept frame was before 10 s; from 10 s on, every frame is due.
	if got := len(keptOf(&d, 10*time.Second, 50, 25, nil)); got != 50 {
		t.Fatalf("after raising to 25 fps: kept %d of 50", got)
	}
}

func TestDecimatorSetRateRange(t *testing.T) {
	var d Decimator
	for _, fps := range []int{0, -1, MaxFramerate + 1} {
		if err := d.SetRate(fps); !errors.Is(err, ErrFramerate) {
			t.Errorf("SetRate(%d) = %v, want ErrFramerate", fps, err)
		}
	}
	if d.Rate() != 0 {
		t.Fatalf("rate %d after rejected values", d.Rate())
	}
}

func BenchmarkDecimatorKeep(b *testing.B) {
	var d Decimator
	d.SetRate(10)
	b.ReportAllocs()
	var ts time.Duration
	for b.Loop() {
		d.Keep(ts)
		ts += 40 * time.Millisecond
	}
}
