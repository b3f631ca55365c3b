package stream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/camagent/camagent/stream/rtppkt"
)

// burst is the RTP packets of one access unit, packetized once and shared
// read-only by every session that queued it. It returns to its pool when the
// last holder releases it.
type burst struct {
	pkts    rtppkt.Packets
	key     bool          // starts a decodable picture (IDR or JPEG)
	rtpTS   uint32        // RTP timestamp of every packet
	capture time.Duration // capture time (CLOCK_MONOTONIC) of the frame
	refs    atomic.Int32
	pool    *burstPool
}

func (b *burst) retain() { b.refs.Add(1) }

func (b *burst) release() {
	switch n := b.refs.Add(-1); {
	case n == 0:
		b.pool.put(b)
	case n < 0:
		panic("stream: burst released too often")
	}
}

// burstPool is a free list of bursts. Unlike sync.Pool it never drops its
// contents on GC, so steady-state streaming does not allocate.
type burstPool struct {
	mu   sync.Mutex
	free []*burst
}

func (p *burstPool) get() *burst {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		b.refs.Store(1)
		return b
	}
	b := &burst{pool: p}
	b.refs.Store(1)
	return b
}

func (p *burstPool) put(b *burst) {
	b.pkts.Reset()
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}
