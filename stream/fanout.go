package stream

import (
	"sync/atomic"
	"time"
)

// subscriber is one consumer of a stream's bursts: a unicast session or the
// shared multicast sender. The producer (the capture loop) never blocks on it:
// a full queue drops the frame, and for H.264 every frame after it until the
// next keyframe, so the viewer never sees a broken reference chain.
type subscriber struct {
	queue chan *burst

	// Owned by the producer goroutine (Stream.WriteAccessUnit).
	waitKey      bool
	stalledSince time.Duration // capture time of the first drop of this stall; 0 when flowing
	kicked       bool

	dropped atomic.Uint64 // frames dropped at this subscriber's queue
	sent    atomic.Uint64 // frames taken from the queue

	// For rate adaptation: bytes offered to the queue (after thinning),
	// bytes of those dropped at it, and bytes queued or being written.
	offeredBytes atomic.Uint64
	droppedBytes atomic.Uint64
	queuedBytes  atomic.Int64
	thinned      atomic.Uint64 // frames left out on purpose by thinning

	// Thinning, set by SetThinning from any goroutine: send one frame in
	// keepOneIn (MJPEG), or keyframes only (H.264).
	keepOneIn atomic.Int32
	keyOnly   atomic.Bool
	thinCount uint32 // owned by the producer

	// onStall is called once, from the producer goroutine, when the
	// subscriber has taken nothing for longer than the stall limit.
	onStall func()
}

func newSubscriber(depth int, onStall func()) *subscriber {
	return &subscriber{queue: make(chan *burst, depth), waitKey: true, onStall: onStall}
}

// offer queues b if there is room, and applies the drop policy otherwise.
func (s *subscriber) offer(b *burst, stallLimit time.Duration) {
	if s.kicked {
		return
	}
	if s.thin(b) {
		s.thinned.Add(1)
		return
	}
	n := uint64(b.pkts.Bytes())
	s.offeredBytes.Add(n)
	if s.waitKey && !b.key {
		s.dropped.Add(1)
		s.droppedBytes.Add(n)
		return
	}
	b.retain()
	select {
	case s.queue <- b:
		s.queuedBytes.Add(int64(n))
		s.waitKey = false
		s.stalledSince = 0
		return
	default:
		b.release()
	}
	s.dropped.Add(1)
	s.droppedBytes.Add(n)
	s.waitKey = true
	if s.stalledSince == 0 {
		s.stalledSince = b.capture
		return
	}
	if stallLimit > 0 && b.capture-s.stalledSince > stallLimit {
		s.kicked = true
		if s.onStall != nil {
			s.onStall()
		}
	}
}

// thin reports whether thinning leaves b out. Leaving a frame out is not a
// drop: the session's writer numbers packets itself, so the viewer sees no
// gap in the sequence numbers and does not read thinning as loss.
func (s *subscriber) thin(b *burst) bool {
	if s.keyOnly.Load() {
		return !b.key
	}
	k := s.keepOneIn.Load()
	if k <= 1 {
		return false
	}
	s.thinCount++
	return s.thinCount%uint32(k) != 1
}

// took accounts for a burst the writer has finished with.
func (s *subscriber) took(b *burst) {
	s.queuedBytes.Add(-int64(b.pkts.Bytes()))
	s.sent.Add(1)
}

// drain releases everything still queued. Call it only after the subscriber
// has been removed from its stream.
func (s *subscriber) drain() {
	for {
		select {
		case b := <-s.queue:
			s.queuedBytes.Add(-int64(b.pkts.Bytes()))
			b.release()
		default:
			return
		}
	}
}
