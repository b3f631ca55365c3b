package report

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/pion/rtcp"
)

// Limits on the work one incoming packet can cause.
const (
	// MaxPacketSize is the largest RTCP datagram Receive accepts: the largest
	// payload of an RTSP interleaved frame.
	MaxPacketSize = 65535
	// maxSubPackets is how many packets of a compound packet are examined.
	// Real receivers send two to four.
	maxSubPackets = 32
)

// Errors returned by Receive, wrapped with detail.
var (
	ErrTooLarge       = errors.New("report: rtcp packet too large")
	ErrTooManyPackets = errors.New("report: too many packets in compound rtcp packet")
)

// ReceiverReport is what a receiver says about our stream in one reception
// report block (RFC 3550 §6.4.1), in SI units.
type ReceiverReport struct {
	// SSRC identifies the reporter (the receiver), not our stream.
	SSRC uint32
	// FractionLost is the fraction of packets lost since the reporter's
	// previous report, from 0 to 1 (255/256 at most).
	FractionLost float64
	// TotalLost is the cumulative number of packets lost. It is negative
	// when duplicates outnumber losses.
	TotalLost int32
	// HighestSeq is the extended highest sequence number received: cycles
	// in the high 16 bits, sequence number in the low 16.
	HighestSeq uint32
	// Jitter is the interarrival jitter, converted from RTP clock units.
	Jitter time.Duration
	// RTT is the round-trip time computed from LSR and DLSR. It is zero when
	// unknown: the receiver has no SR yet (LSR 0), LSR matches none of our
	// recent SRs, or the result came out negative (clock steps, rounding on
	// a near-zero path).
	RTT time.Duration
	// At is when the report arrived.
	At time.Time
}

// Intake is what Receive extracted from one compound RTCP packet.
type Intake struct {
	// Reports holds the reception report blocks about our SSRC, from both
	// receiver and sender reports, in packet order.
	Reports []ReceiverReport
	// PLI is set when a Picture Loss Indication asks for a keyframe.
	PLI bool
	// FIR is set when a Full Intra Request with a new command sequence
	// number asks for a keyframe. Repeats of a request already seen (same
	// sequence number, RFC 5104 §4.3.1.1) leave it unset.
	FIR bool
	// NACKs counts the packets that generic NACKs report lost.
	NACKs int
	// Bye is set when the receiver said goodbye.
	Bye bool
}

// Receive parses a compound RTCP packet that arrived at arrival (wall-clock
// time, the clock Report's wall comes from) and extracts what concerns our
// stream. Reports about other SSRCs are ignored, as are packet types camagent
// does not act on (SDES, APP, XR, ...).
//
// The work is bounded: packets over MaxPacketSize are refused and at most 32
// packets of a compound are examined. A malformed packet inside a compound
// does not hide the others: Receive returns the Intake of all well-formed
// packets together with the first error.
func (s *Sender) Receive(buf []byte, arrival time.Time) (Intake, error) {
	var in Intake
	if len(buf) > MaxPacketSize {
		return in, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(buf))
	}
	raws, err := rtcp.UnmarshalRaw(buf)
	if err != nil {
		return in, fmt.Errorf("report: split compound packet: %w", err)
	}
	var firstErr error
	if len(raws) > maxSubPackets {
		firstErr = fmt.Errorf("%w: %d", ErrTooManyPackets, len(raws))
		raws = raws[:maxSubPackets]
	}
	arrivalMid := ntpMiddle(NTPTime(arrival))
	for _, raw := range raws {
		if err := s.receiveOne(&in, raw, arrival, arrivalMid); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return in, firstErr
}

// receiveOne handles one packet of a compound.
func (s *Sender) receiveOne(in *Intake, raw rtcp.RawPacket, arrival time.Time, arrivalMid uint32) error {
	h := raw.Header()
	if !interesting(h) {
		return nil
	}
	pkts, err := rtcp.Unmarshal(raw)
	if err != nil {
		return fmt.Errorf("report: parse %v packet: %w", h.Type, err)
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			s.addReports(in, p.SSRC, p.Reports, arrival, arrivalMid)
		case *rtcp.SenderReport:
			s.addReports(in, p.SSRC, p.Reports, arrival, arrivalMid)
		case *rtcp.PictureLossIndication:
			if p.MediaSSRC == s.ssrc || p.MediaSSRC == 0 {
				in.PLI = true
			}
		case *rtcp.FullIntraRequest:
			s.addFIR(in, p)
		case *rtcp.TransportLayerNack:
			if p.MediaSSRC == s.ssrc {
				for _, n := range p.Nacks {
					in.NACKs += 1 + bits.OnesCount16(uint16(n.LostPackets))
				}
			}
		case *rtcp.Goodbye:
			in.Bye = true
		}
	}
	return nil
}

// interesting reports whether a packet is of a type Receive acts on, so that
// the others are not parsed at all.
func interesting(h rtcp.Header) bool {
	switch h.Type {
	case rtcp.TypeSenderReport, rtcp.TypeReceiverReport, rtcp.TypeGoodbye:
		return true
	case rtcp.TypePayloadSpecificFeedback:
		return h.Count == rtcp.FormatPLI || h.Count == rtcp.FormatFIR
	case rtcp.TypeTransportSpecificFeedback:
		return h.Count == rtcp.FormatTLN
	}
	return false
}

// addReports appends the blocks about our SSRC.
func (s *Sender) addReports(in *Intake, reporter uint32, blocks []rtcp.ReceptionReport, arrival time.Time, arrivalMid uint32) {
	for i := range blocks {
		b := &blocks[i]
		if b.SSRC != s.ssrc {
			continue
		}
		in.Reports = append(in.Reports, ReceiverReport{
			SSRC:         reporter,
			FractionLost: float64(b.FractionLost) / 256,
			TotalLost:    signed24(b.TotalLost),
			HighestSeq:   b.LastSequenceNumber,
			Jitter:       time.Duration(uint64(b.Jitter) * uint64(time.Second) / uint64(s.clockRate)),
			RTT:          s.rtt(b.LastSenderReport, b.Delay, arrivalMid),
			At:           arrival,
		})
	}
}

// rtt computes A − LSR − DLSR (RFC 3550 §6.4.1), in 1/65536 s units with
// 32-bit wraparound, for an LSR that matches one of our recent SRs.
func (s *Sender) rtt(lsr, dlsr, arrivalMid uint32) time.Duration {
	if lsr == 0 {
		return 0
	}
	s.mu.Lock()
	known := s.sentSR(lsr)
	s.mu.Unlock()
	if !known {
		return 0
	}
	units := int32(arrivalMid - lsr - dlsr)
	if units <= 0 {
		return 0
	}
	return shortNTPDuration(int64(units))
}

// addFIR sets in.FIR for a request aimed at us with a new sequence number.
func (s *Sender) addFIR(in *Intake, p *rtcp.FullIntraRequest) {
	for _, e := range p.FIR {
		if e.SSRC != s.ssrc {
			continue
		}
		s.mu.Lock()
		fresh := !s.firSeen || s.firSeq != e.SequenceNumber
		s.firSeen, s.firSeq = true, e.SequenceNumber
		s.mu.Unlock()
		if fresh {
			in.FIR = true
		}
	}
}

// signed24 sign-extends the 24-bit cumulative loss field.
func signed24(v uint32) int32 {
	v &= 0xffffff
	if v&0x800000 != 0 {
		v |= 0xff000000
	}
	return int32(v)
}
