package stream

import (
	"bytes"
	"testing"
	"time"

	"github.com/camagent/camagent/encode"
)

func h264AU(key bool, capture time.Duration, size int) *encode.AccessUnit {
	if key {
		idr := append([]byte{0x65}, bytes.Repeat([]byte{0xab}, size)...)
		return &encode.AccessUnit{Codec: encode.H264, Keyframe: true, Timestamp: capture,
			NALUs: [][]byte{{0x67, 0x42, 0xc0, 0x1e, 0xd9}, {0x68, 0xce, 0x3c, 0x80}, idr}}
	}
	p := append([]byte{0x41}, bytes.Repeat([]byte{0xcd}, size)...)
	return &encode.AccessUnit{Codec: encode.H264, Timestamp: capture, NALUs: [][]byte{p}}
}

func newTestStream(t testing.TB, queue int, stall time.Duration) *Stream {
	t.Helper()
	st, err := NewStream(StreamConfig{Codec: encode.H264, Width: 320, Height: 240, FPS: 25, QueueFrames: queue, StallLimit: stall})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// queued pops everything a subscriber has queued: K for a keyframe, P otherwise.
func queued(sub *subscriber) string {
	var s string
	for {
		select {
		case b := <-sub.queue:
			if b.key {
				s += "K"
			} else {
				s += "P"
			}
			b.release()
		default:
			return s
		}
	}
}

func TestSlowViewerLosesFramesUntilTheNextKeyframe(t *testing.T) {
	st := newTestStream(t, 2, time.Hour)
	sub := st.subscribe(0, nil)
	ts := time.Duration(0)
	write := func(key bool) {
		ts += 40 * time.Millisecond
		if err := st.WriteAccessUnit(h264AU(key, ts, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	write(false) // a new viewer waits for a keyframe
	write(true)
	write(false)
	write(false) // queue full (2): dropped, and now it must wait for a keyframe
	if got := queued(sub); got != "KP" {
		t.Fatalf("queued %q, want KP", got)
	}
	write(false) // room again, but the reference chain is broken: still dropped
	write(true)
	write(false)
	if got := queued(sub); got != "KP" {
		t.Fatalf("after the drop: queued %q, want KP", got)
	}
	if d := sub.dropped.Load(); d != 3 {
		t.Fatalf("dropped %d frames, want 3", d)
	}
}

func TestFastViewerIsNotHeldUpBySlowOne(t *testing.T) {
	st := newTestStream(t, 3, time.Hour)
	slow := st.subscribe(0, nil)
	fast := st.subscribe(0, nil)
	var got string
	for i := range 30 {
		if err := st.WriteAccessUnit(h264AU(i%10 == 0, time.Duration(i+1)*40*time.Millisecond, 100)); err != nil {
			t.Fatal(err)
		}
		got += queued(fast)
	}
	if len(got) != 30 {
		t.Fatalf("fast viewer got %d of 30 frames", len(got))
	}
	if s := queued(slow); s != "KPP" {
		t.Fatalf("slow viewer holds %q", s)
	}
}

func TestStalledViewerIsDisconnectedOnce(t *testing.T) {
	st := newTestStream(t, 2, time.Second)
	calls := 0
	st.subscribe(0, func() { calls++ })
	for i := range 100 { // 4 s of frames, one keyframe a second
		if err := st.WriteAccessUnit(h264AU(i%25 == 0, time.Duration(i+1)*40*time.Millisecond, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("onStall called %d times, want 1", calls)
	}
}

func TestBurstsReturnToThePool(t *testing.T) {
	st := newTestStream(t, 4, time.Hour)
	sub := st.subscribe(0, nil)
	for i := range 50 {
		st.WriteAccessUnit(h264AU(i%5 == 0, time.Duration(i+1)*40*time.Millisecond, 5000))
		queued(sub)
	}
	st.unsubscribe(sub)
	// Every burst went back: at most a couple were ever needed at once.
	st.pool.mu.Lock()
	n := len(st.pool.free)
	st.pool.mu.Unlock()
	if n == 0 || n > 3 {
		t.Fatalf("%d bursts in the pool, want 1-3", n)
	}
}

func TestRTPTimeFollowsCaptureClock(t *testing.T) {
	st := newTestStream(t, 4, time.Hour)
	base := 1000*time.Hour + 123*time.Millisecond // days of uptime must not overflow
	a := st.rtpTime(base)
	b := st.rtpTime(base + 40*time.Millisecond)
	if b-a != 3600 {
		t.Fatalf("40 ms is %d ticks, want 3600", b-a)
	}
	st.WriteAccessUnit(h264AU(true, base, 10))
	got, ok := st.RTPTimeAt(base + time.Second)
	if !ok || got-a != 90000 {
		t.Fatalf("RTPTimeAt(+1 s) = %d (ok=%v), want +90000", got-a, ok)
	}
}

// BenchmarkFanOut packetizes a 15 KB P frame once (with a 150 KB IDR every
// 25th) and queues it for ten viewers, which take and release it: the whole
// per-frame path minus the socket writes.
func BenchmarkFanOut(b *testing.B) {
	st := newTestStream(b, 8, time.Hour)
	var subs []*subscriber
	for range 10 {
		subs = append(subs, st.subscribe(0, nil))
	}
	idr := h264AU(true, 0, 150_000)
	p := h264AU(false, 0, 15_000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		au := p
		if i%25 == 0 {
			au = idr
		}
		au.Timestamp = time.Duration(i+1) * 40 * time.Millisecond
		if err := st.WriteAccessUnit(au); err != nil {
			b.Fatal(err)
		}
		for _, s := range subs {
			(<-s.queue).release()
		}
	}
}
