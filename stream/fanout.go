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
	if s.waitKey && !b.key {
		s.dropped.Add(1)
		return
	}
	b.retain()
	select {
	case s.queue <- b:
		s.waitKey = false
		s.stalledSince = 0
		return
	default:
		b.release()
	}
	s.dropped.Add(1)
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

// drain releases everything still queued. Call it only after the subscriber
// has been removed from its stream.
func (s *subscriber) drain() {
	for {
		select {
		case b := <-s.queue:
			b.release()
		default:
			return
		}
	}
}
