// Package report implements the RTCP side of one RTP stream sent to one
// viewer session: sender reports going out, receiver reports and feedback
// (PLI, FIR, NACK, BYE) coming in.
//
// Time follows the capture clock. A sender report pairs a wall-clock NTP time
// with the RTP timestamp of the same instant, and that RTP timestamp is
// extrapolated from the capture time (CLOCK_MONOTONIC, stamped by the driver)
// of the last frame sent, never from the time Go happened to read the frame.
package report

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// Sizes of the fixed packets this package writes.
const (
	// srSize is a sender report without reception report blocks:
	// 4 bytes header, 4 SSRC, 8 NTP, 4 RTP, 4 packets, 4 octets.
	srSize = 28
	// maxCNAME is the longest CNAME an SDES item can carry.
	maxCNAME = 255
	// sentSRs is how many of our latest sender reports are remembered to
	// match the LSR field of incoming reception reports. At the usual
	// 5-second interval this covers well over a minute of report delay.
	sentSRs = 16
)

// Offsets of the variable fields inside the sender report.
const (
	srOffNTP     = 8
	srOffRTP     = 16
	srOffPackets = 20
	srOffOctets  = 24
)

// Sender is the RTCP state of one stream sent to one session. Its jobs:
//
//   - count the RTP packets and payload octets sent (OnPacket);
//   - build sender reports, an SR + SDES CNAME compound (Report), optionally
//     followed by a BYE (Bye);
//   - remember the NTP middle 32 bits of each SR sent;
//   - read what the receiver sends back (Receive), computing the round-trip
//     time from the LSR/DLSR fields of reception reports (RFC 3550 §6.4.1).
//
// All sessions of a stream share its SSRC; each session has its own Sender,
// because sequence numbers and counters are per session.
//
// A Sender is safe for concurrent use: OnPacket is meant for the session's
// writer goroutine, Report for a timer and Receive for the reader goroutine.
type Sender struct {
	ssrc      uint32
	clockRate uint32

	// tmpl is the SR (fields zeroed) followed by the SDES CNAME packet,
	// both marshalled once by NewSender.
	tmpl []byte
	// rr is an empty receiver report, which opens Bye's compound packet
	// when there is no SR to send (RFC 3550 §6.1: a compound packet starts
	// with a report).
	rr []byte
	// bye is our marshalled BYE packet.
	bye []byte

	mu      sync.Mutex
	sent    bool // at least one packet was sent
	packets uint32
	octets  uint32
	lastRTP uint32        // RTP timestamp of the last packet sent
	lastCap time.Duration // capture time of the last packet sent
	buf     []byte        // reused by Report

	srs   [sentSRs]uint32 // NTP middle 32 bits of recent SRs, a ring
	nsrs  int             // number of valid entries in srs (at most sentSRs)
	srPos int             // next ring slot to write

	firSeen bool  // a FIR for us was already acted on
	firSeq  uint8 // its command sequence number
}

// NewSender returns the RTCP state of a stream with the given SSRC and RTP
// clock rate (90000 for video), reporting cname in its SDES packets. A cname
// longer than 255 bytes, the SDES limit, is truncated. NewSender panics if
// clockRate is zero, which is a programming error.
func NewSender(ssrc uint32, clockRate uint32, cname string) *Sender {
	if clockRate == 0 {
		panic("report: NewSender with zero clock rate")
	}
	if len(cname) > maxCNAME {
		cname = cname[:maxCNAME]
	}
	sr := mustMarshal(&rtcp.SenderReport{SSRC: ssrc})
	sdes := mustMarshal(rtcp.NewCNAMESourceDescription(ssrc, cname))
	tmpl := make([]byte, 0, len(sr)+len(sdes))
	tmpl = append(append(tmpl, sr...), sdes...)
	return &Sender{
		ssrc:      ssrc,
		clockRate: clockRate,
		tmpl:      tmpl,
		rr:        mustMarshal(&rtcp.ReceiverReport{SSRC: ssrc}),
		bye:       mustMarshal(&rtcp.Goodbye{Sources: []uint32{ssrc}}),
		buf:       make([]byte, 0, len(tmpl)),
	}
}

// mustMarshal marshals packets whose fields NewSender has already bounded,
// so that marshalling cannot fail.
func mustMarshal(p rtcp.Packet) []byte {
	b, err := p.Marshal()
	if err != nil {
		panic(fmt.Sprintf("report: marshal %T: %v", p, err))
	}
	return b
}

// SSRC returns the stream's synchronization source identifier.
func (s *Sender) SSRC() uint32 { return s.ssrc }

// OnPacket records one RTP packet sent: its RTP timestamp, the capture time
// of the frame it belongs to, and its payload size (without the RTP header
// or padding, as the SR octet count requires). It does not allocate.
func (s *Sender) OnPacket(rtpTS uint32, captureTS time.Duration, payloadLen int) {
	s.mu.Lock()
	s.sent = true
	s.packets++
	s.octets += uint32(payloadLen)
	s.lastRTP = rtpTS
	s.lastCap = captureTS
	s.mu.Unlock()
}

// Counts returns the number of RTP packets and payload octets sent so far,
// both wrapping at 2^32 as in a sender report.
func (s *Sender) Counts() (packets, octets uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.packets, s.octets
}

// Report builds a compound RTCP packet, SR followed by SDES CNAME, for the
// instant given by wall (wall-clock time) and mono (CLOCK_MONOTONIC, the
// capture clock), which the caller must read together. It returns ok false,
// and no packet, while no RTP packet has been sent: an SR needs an RTP
// timestamp to anchor.
//
// The returned slice aliases a buffer owned by the Sender that the next call
// to Report overwrites; copy it if it must outlive that (or use AppendReport).
func (s *Sender) Report(wall time.Time, mono time.Duration) (pkt []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent {
		return nil, false
	}
	s.buf = s.appendReport(s.buf[:0], wall, mono)
	return s.buf, true
}

// AppendReport is like Report but appends the packet to dst and returns the
// extended slice; it does not allocate when dst has room.
func (s *Sender) AppendReport(dst []byte, wall time.Time, mono time.Duration) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent {
		return dst, false
	}
	return s.appendReport(dst, wall, mono), true
}

// Bye builds the packet that ends the session: SR, SDES CNAME and BYE. If no
// RTP packet was sent there is no SR; an empty RR takes its place, since a
// compound packet must start with a report. The result is a new slice owned
// by the caller.
func (s *Sender) Bye(wall time.Time, mono time.Duration) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]byte, 0, len(s.tmpl)+len(s.bye))
	if s.sent {
		out = s.appendReport(out, wall, mono)
	} else {
		out = append(append(out, s.rr...), s.tmpl[srSize:]...)
	}
	return append(out, s.bye...)
}

// appendReport writes SR + SDES to dst and remembers the SR. s.mu is held.
func (s *Sender) appendReport(dst []byte, wall time.Time, mono time.Duration) []byte {
	start := len(dst)
	dst = append(dst, s.tmpl...)
	sr := dst[start : start+srSize]
	ntp := NTPTime(wall)
	binary.BigEndian.PutUint64(sr[srOffNTP:], ntp)
	binary.BigEndian.PutUint32(sr[srOffRTP:], s.lastRTP+ticks(mono-s.lastCap, s.clockRate))
	binary.BigEndian.PutUint32(sr[srOffPackets:], s.packets)
	binary.BigEndian.PutUint32(sr[srOffOctets:], s.octets)

	s.srs[s.srPos] = ntpMiddle(ntp)
	s.srPos = (s.srPos + 1) % sentSRs
	if s.nsrs < sentSRs {
		s.nsrs++
	}
	return dst
}

// sentSR reports whether lsr is the NTP middle of one of our recent SRs.
// s.mu is held.
func (s *Sender) sentSR(lsr uint32) bool {
	for i := range s.nsrs {
		if s.srs[i] == lsr {
			return true
		}
	}
	return false
}

// ticks converts d to RTP clock ticks modulo 2^32, truncating toward zero.
// Splitting off whole seconds keeps the product in range for any duration;
// the seconds product may wrap int64, which leaves the low 32 bits right.
func ticks(d time.Duration, rate uint32) uint32 {
	secs := int64(d / time.Second)
	rem := int64(d % time.Second)
	return uint32(secs*int64(rate) + rem*int64(rate)/int64(time.Second))
}
