package rtcpctl

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/camagent/camagent/stream/report"
)

// Feedback mirrors the interface the stream package declares for RTCP
// feedback; the assignment below checks that Recorder implements it.
type Feedback interface {
	ReceiverReport(session string, rr report.ReceiverReport)
	KeyframeRequest(session string, kind string)
	SessionClosed(session string)
}

var _ Feedback = (*Recorder)(nil)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func TestRecorderKeepsLatest(t *testing.T) {
	clk := newFakeClock()
	r := NewRecorder(nil)
	r.Now = clk.Now

	first := report.ReceiverReport{SSRC: 1, FractionLost: 0.5, RTT: 20 * time.Millisecond}
	second := report.ReceiverReport{SSRC: 1, FractionLost: 0.1, TotalLost: -2, Jitter: time.Millisecond}
	r.ReceiverReport("a", first)
	clk.Advance(time.Second)
	r.ReceiverReport("a", second)
	r.ReceiverReport("b", first)
	clk.Advance(time.Second)
	r.KeyframeRequest("a", "pli")

	got := r.Snapshot()
	want := map[string]SessionStats{
		"a": {Last: second, Reports: 2, KeyframeRequests: 1, Updated: clk.Now()},
		"b": {Last: first, Reports: 1, Updated: clk.Now().Add(-time.Second)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Snapshot\n got %v\nwant %v", got, want)
	}

	r.SessionClosed("a")
	if _, ok := r.Snapshot()["a"]; ok {
		t.Error("closed session still in snapshot")
	}
	if n := len(r.Snapshot()); n != 1 {
		t.Errorf("%d sessions after closing one of two", n)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	r := NewRecorder(nil)
	r.ReceiverReport("a", report.ReceiverReport{SSRC: 1})
	snap := r.Snapshot()
	r.ReceiverReport("a", report.ReceiverReport{SSRC: 2})
	if snap["a"].Last.SSRC != 1 || snap["a"].Reports != 1 {
		t.Errorf("snapshot changed after the fact: %+v", snap["a"])
	}
}

func TestKeyframeRateLimit(t *testing.T) {
	clk := newFakeClock()
	forwarded := 0
	r := NewRecorder(func() { forwarded++ })
	r.Now = clk.Now

	steps := []struct {
		advance time.Duration
		session string
		kind    string
		want    int // forwarded so far
	}{
		{0, "a", "pli", 1},
		{100 * time.Millisecond, "b", "fir", 1},
		{399 * time.Millisecond, "a", "pli", 1}, // 499 ms after the first
		{1 * time.Millisecond, "a", "pli", 2},   // exactly 500 ms
		{10 * time.Millisecond, "b", "pli", 2},
		{time.Hour, "b", "fir", 3},
		{-time.Minute, "a", "pli", 4}, // clock stepped back: not suppressed
		{time.Millisecond, "a", "pli", 4},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		r.KeyframeRequest(s.session, s.kind)
		if forwarded != s.want {
			t.Fatalf("step %d: forwarded %d, want %d", i, forwarded, s.want)
		}
	}
	snap := r.Snapshot()
	if snap["a"].KeyframeRequests != 5 || snap["b"].KeyframeRequests != 3 {
		t.Errorf("request counts a=%d b=%d, want 5 and 3", snap["a"].KeyframeRequests, snap["b"].KeyframeRequests)
	}
}

func TestKeyframeCallbackMayReenter(t *testing.T) {
	var r *Recorder
	calls := 0
	r = NewRecorder(func() {
		calls++
		_ = r.Snapshot() // would deadlock if called under the lock
	})
	r.KeyframeRequest("a", "fir")
	if calls != 1 {
		t.Errorf("onKeyframe called %d times", calls)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	var mu sync.Mutex
	forwarded := 0
	r := NewRecorder(func() { mu.Lock(); forwarded++; mu.Unlock() })
	var wg sync.WaitGroup
	for g := range 4 {
		name := fmt.Sprint("s", g)
		wg.Go(func() {
			for i := range 200 {
				r.ReceiverReport(name, report.ReceiverReport{HighestSeq: uint32(i)})
				r.KeyframeRequest(name, "pli")
				_ = r.Snapshot()
			}
			r.SessionClosed(name)
		})
	}
	wg.Wait()
	if n := len(r.Snapshot()); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if forwarded < 1 {
		t.Error("no keyframe request forwarded")
	}
}
