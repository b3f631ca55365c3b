package stream

import (
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// Thinning makes one session skip frames on purpose, for a viewer that
// cannot keep up even at the encoder's floor. The session's packets are
// numbered by its own writer, so the frames left out leave no gap in its
// sequence numbers.
type Thinning struct {
	// KeepOneIn sends one frame in KeepOneIn (MJPEG); 0 or 1 sends all.
	KeepOneIn int
	// KeyframesOnly sends only keyframes (H.264).
	KeyframesOnly bool
}

// SessionObservation is what the server sees of one viewer session: its
// send backlog and counters, for rate adaptation. Counters are cumulative
// over the session's current PLAY.
type SessionObservation struct {
	ID        string
	Transport string // "udp", "tcp" or "multicast"
	Remote    netip.Addr
	Playing   bool

	QueuedFrames int   // frames in the session's queue
	QueueCap     int   // the queue's capacity, in frames
	QueuedBytes  int64 // bytes in the queue or being written
	// SocketBytes is, for TCP sessions, what the kernel holds in the
	// connection's send buffer (not yet sent or not yet acknowledged).
	SocketBytes int

	OfferedBytes  uint64 // bytes offered to the queue, after thinning
	DroppedBytes  uint64 // bytes dropped because the queue was full
	DroppedFrames uint64
	SentFrames    uint64
	ThinnedFrames uint64
	Thinning      Thinning
}

// BacklogBytes is everything the session has accepted and not yet sent.
func (o SessionObservation) BacklogBytes() int { return int(o.QueuedBytes) + o.SocketBytes }

// Observe appends an observation of every open session to dst.
func (s *Server) Observe(dst []SessionObservation) []SessionObservation {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		dst = append(dst, ss.observe())
	}
	return dst
}

func (ss *session) observe() SessionObservation {
	ss.mu.Lock()
	o := SessionObservation{ID: ss.id, Transport: ss.kind.String(), Remote: ss.remote, Playing: ss.playing, Thinning: ss.thinning}
	if sub := ss.sub; sub != nil {
		o.QueuedFrames, o.QueueCap = len(sub.queue), cap(sub.queue)
		o.QueuedBytes = sub.queuedBytes.Load()
		o.OfferedBytes = sub.offeredBytes.Load()
		o.DroppedBytes = sub.droppedBytes.Load()
		o.DroppedFrames = sub.dropped.Load()
		o.SentFrames = sub.sent.Load()
		o.ThinnedFrames = sub.thinned.Load()
	}
	ss.mu.Unlock()
	if ss.kind == overTCP && ss.conn != nil {
		o.SocketBytes = socketOutq(ss.conn.nc)
	}
	return o
}

// socketOutq is the bytes in a TCP socket's send queue, 0 if unknown.
func socketOutq(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
			n = v
		}
	})
	return n
}

// SetThinning sets a session's thinning. It reports false if there is no
// such session.
func (s *Server) SetThinning(id string, t Thinning) bool {
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil {
		return false
	}
	ss.mu.Lock()
	ss.thinning = t
	if ss.sub != nil {
		ss.sub.setThinning(t)
	}
	ss.mu.Unlock()
	return true
}

func (s *subscriber) setThinning(t Thinning) {
	s.keepOneIn.Store(int32(max(1, min(t.KeepOneIn, 1<<20))))
	s.keyOnly.Store(t.KeyframesOnly)
}
