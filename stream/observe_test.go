package stream

import (
	"bufio"
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestThinningKeepsOneFrameInN(t *testing.T) {
	st, err := NewStream(StreamConfig{Codec: 2, Width: 320, Height: 240, FPS: 25, QueueFrames: 100, StallLimit: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_ = st
	sub := newSubscriber(100, nil)
	sub.setThinning(Thinning{KeepOneIn: 3})
	var got string
	for i := range 9 {
		b := &burst{key: true, pool: &burstPool{}}
		b.refs.Store(1)
		b.capture = time.Duration(i+1) * 40 * time.Millisecond
		sub.offer(b, time.Hour)
		if len(sub.queue) > 0 {
			<-sub.queue
			got += "x"
		} else {
			got += "."
		}
	}
	if got != "x..x..x.." {
		t.Errorf("thinning 1 in 3 sent %q", got)
	}
	if sub.thinned.Load() != 6 || sub.dropped.Load() != 0 {
		t.Errorf("thinned %d dropped %d, want 6 and 0", sub.thinned.Load(), sub.dropped.Load())
	}
}

func TestKeyframesOnlyOverTCPHasNoSequenceGaps(t *testing.T) {
	ts := startTestServer(t, nil)
	rc := dial(t, ts)
	res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
	id := sessionID(res)
	if !ts.srv.SetThinning(id, Thinning{KeyframesOnly: true}) {
		t.Fatal("SetThinning found no session")
	}
	if res := rc.do("PLAY", rc.url, "Session: "+id); res.code != 200 {
		t.Fatalf("PLAY: %+v", res)
	}
	var (
		pkts, frames int
		lastSeq      uint16
		lastTS       uint32
		steps        []uint32
	)
	for frames < 3 { // GOP 25: three keyframes span two seconds
		ch, data := rc.readFrame()
		if ch != 0 {
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(data); err != nil {
			t.Fatal(err)
		}
		if pkts > 0 && p.SequenceNumber != lastSeq+1 {
			t.Fatalf("sequence gap %d → %d", lastSeq, p.SequenceNumber)
		}
		if pkts > 0 && p.Timestamp != lastTS {
			steps = append(steps, p.Timestamp-lastTS)
		}
		lastSeq, lastTS = p.SequenceNumber, p.Timestamp
		pkts++
		if p.Marker {
			frames++
		}
	}
	// A forced keyframe may come early; after it, one GOP (25 frames) apart.
	if len(steps) < 2 || steps[len(steps)-1] != 25*3600 {
		t.Errorf("timestamp steps between frames %v, want the last to be one GOP (90000)", steps)
	}
	obs := ts.srv.Observe(nil)
	if len(obs) != 1 || obs[0].ID != id || obs[0].Transport != "tcp" || !obs[0].Thinning.KeyframesOnly {
		t.Fatalf("Observe: %+v", obs)
	}
	o := obs[0]
	if o.ThinnedFrames == 0 || o.OfferedBytes == 0 || o.SentFrames == 0 || o.QueueCap == 0 {
		t.Errorf("counters not moving: %+v", o)
	}
	if !strings.Contains(o.Remote.String(), "127.0.0.1") {
		t.Errorf("remote %v", o.Remote)
	}
}

// TestBacklogGrowsWhenTheViewerStopsReading: a TCP viewer that reads
// nothing shows its backlog in the socket and the queue, then drops.
func TestBacklogGrowsWhenTheViewerStopsReading(t *testing.T) {
	// Feed the stream by hand with 150 KB keyframes: the test pattern's
	// frames are too small to fill a socket that the kernel keeps growing.
	st := newTestStream(t, 8, time.Hour)
	srv, err := NewServer(Config{Addr: "127.0.0.1:0"}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })

	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawClient{t: t, c: c, br: bufio.NewReader(c), url: "rtsp://" + srv.Addr().String() + "/stream1"}
	res := rc.do("SETUP", rc.url+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
	if res := rc.do("PLAY", rc.url, "Session: "+sessionID(res)); res.code != 200 {
		t.Fatalf("PLAY: %+v", res)
	}
	// From here on the viewer reads nothing.
	backlogged := func() bool {
		o := srv.Observe(nil)
		return len(o) == 1 && o[0].SocketBytes > 0 && o[0].BacklogBytes() > o[0].SocketBytes
	}
	for i := 0; i < 500 && !backlogged(); i++ {
		if err := st.WriteAccessUnit(h264AU(true, time.Duration(i+1)*40*time.Millisecond, 150_000)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !backlogged() {
		t.Fatalf("no backlog after 500 frames of 150 KB: %+v", srv.Observe(nil))
	}
}
