package vmtest

import (
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
)

// viewer is a gortsplib client playing the guest's stream over TCP from
// the VM's namespace, recording each frame's RTP timestamp (the timestamp
// of the packet that ends it).
type viewer struct {
	c       *gortsplib.Client
	mu      sync.Mutex
	ts      []uint32
	arrived []time.Time
	changed chan struct{}
}

func startViewer(t *testing.T, vm *VM, url string) *viewer {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.ProtocolTCP
	v := &viewer{changed: make(chan struct{})}
	v.c = &gortsplib.Client{
		Scheme: u.Scheme, Host: u.Host, Protocol: &tcp,
		DialContext:  vm.Netns().DialContext,
		ListenPacket: vm.Netns().ListenPacket,
		// The camera may be gone for a few seconds (the disconnect test);
		// the viewer must wait it out, not give up.
		ReadTimeout: 60 * time.Second,
	}
	if err := v.c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.c.Close)
	desc, _, err := v.c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE %s: %v", url, err)
	}
	if err := v.c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatalf("SETUP: %v", err)
	}
	v.c.OnPacketRTPAny(func(_ *description.Media, _ format.Format, pkt *rtp.Packet) {
		if !pkt.Marker {
			return
		}
		v.mu.Lock()
		v.ts = append(v.ts, pkt.Timestamp)
		v.arrived = append(v.arrived, time.Now())
		close(v.changed)
		v.changed = make(chan struct{})
		v.mu.Unlock()
	})
	if _, err := v.c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	return v
}

// frames is the RTP timestamps of the frames received so far.
func (v *viewer) frames() []uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]uint32(nil), v.ts...)
}

// waitFrames waits until n frames have arrived, or d passed; it returns
// how many arrived.
func (v *viewer) waitFrames(n int, d time.Duration) int {
	deadline := time.After(d)
	for {
		v.mu.Lock()
		got, ch := len(v.ts), v.changed
		v.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			return got
		}
	}
}
