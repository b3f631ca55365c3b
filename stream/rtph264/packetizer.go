// Package rtph264 packetizes H.264 access units into RTP packets as RFC 6184
// describes for packetization-mode=1 (non-interleaved): single NAL unit
// packets, STAP-A aggregates and FU-A fragments.
//
// The server packetizes each access unit once, into a reused
// rtppkt.Packets, and sends the same bytes to every viewer; a viewer's writer
// rewrites only the sequence number. Packetize therefore does not allocate
// once its buffers have grown to the stream's largest access unit.
package rtph264

import (
	"errors"
	"fmt"

	"github.com/camagent/camagent/stream/rtppkt"
)

// Defaults and limits of Packetizer's options.
const (
	// DefaultPayloadType is the dynamic RTP payload type used when
	// Packetizer.PayloadType is zero.
	DefaultPayloadType = 96

	// DefaultPayloadMaxSize is the largest RTP payload Packetizer writes
	// when PayloadMaxSize is zero. 1200 bytes of payload + 12 (RTP header)
	// + 8 (UDP header) + 40 (IPv6 header) = 1260 bytes, which fits the IPv6
	// minimum link MTU of 1280 (RFC 8200 §5), so no packet ever needs IP
	// fragmentation, and leaves room for the extra headers of PPPoE (8),
	// VPN/tunnel encapsulations and SRTP's authentication tag on paths whose
	// MTU is below Ethernet's 1500.
	DefaultPayloadMaxSize = 1200

	// MinPayloadMaxSize is the smallest PayloadMaxSize accepted: an FU-A
	// indicator, an FU header and one byte of the fragmented NAL unit.
	MinPayloadMaxSize = 3

	// MaxPayloadMaxSize is the largest PayloadMaxSize accepted: an RTP
	// packet must fit the 16-bit length of RTSP interleaved framing.
	MaxPayloadMaxSize = 65535 - rtppkt.HeaderSize
)

// NAL unit types (H.264 Table 7-1, RFC 6184 Table 1) the packetizer handles.
const (
	naluTypeIDR    = 5
	naluTypeSPS    = 7
	naluTypePPS    = 8
	naluTypeAUD    = 9
	naluTypeFiller = 12
	naluTypeSTAPA  = 24
	naluTypeFUA    = 28
)

// Errors returned by Init and Packetize, wrapped with details.
var (
	ErrNotInitialized = errors.New("rtph264: packetizer not initialized")
	ErrOption         = errors.New("rtph264: invalid option")
	ErrInvalidNALU    = errors.New("rtph264: invalid NAL unit")
)

// Packetizer turns H.264 access units into RTP packets.
//
// Aggregation policy: consecutive NAL units of an access unit are gathered
// greedily into one STAP-A packet as long as the aggregate fits in
// PayloadMaxSize. This puts SPS and PPS (and SEI, and the small slices of a
// multi-slice picture) in one packet. A NAL unit that fits alone but not
// with its successor goes in a single NAL unit packet; one larger than
// PayloadMaxSize is split into FU-A fragments.
//
// Parameter sets: the packetizer keeps a copy of the latest SPS and PPS it
// has seen. When an access unit contains an IDR slice but lacks an SPS or a
// PPS, the cached ones are inserted right before its first IDR slice, so a
// viewer joining at any keyframe can decode it. Until an SPS or PPS has been
// seen, an IDR access unit is sent as it is.
//
// Access unit delimiters (type 9) and filler data (type 12) are dropped, and
// so are empty NAL units. An access unit left with no NAL unit produces no
// packet.
//
// A Packetizer is not safe for concurrent use.
type Packetizer struct {
	// PayloadType of the packets, 0..127. Zero means DefaultPayloadType.
	PayloadType uint8
	// SSRC of the packets.
	SSRC uint32
	// PayloadMaxSize is the largest RTP payload written, in bytes. Zero
	// means DefaultPayloadMaxSize (see there for why 1200).
	PayloadMaxSize int
	// InitialSequence is the sequence number of the first packet.
	InitialSequence uint16

	ready bool
	seq   uint16
	sps   []byte
	pps   []byte
	out   [][]byte // NAL units to send for the current access unit
}

// Init validates the options, fills in defaults and resets the sequence
// number to InitialSequence. It keeps the cached parameter sets.
func (p *Packetizer) Init() error {
	if p.PayloadType == 0 {
		p.PayloadType = DefaultPayloadType
	}
	if p.PayloadType > 127 {
		return fmt.Errorf("%w: PayloadType %d is above 127", ErrOption, p.PayloadType)
	}
	if p.PayloadMaxSize == 0 {
		p.PayloadMaxSize = DefaultPayloadMaxSize
	}
	if p.PayloadMaxSize < MinPayloadMaxSize || p.PayloadMaxSize > MaxPayloadMaxSize {
		return fmt.Errorf("%w: PayloadMaxSize %d is outside %d..%d",
			ErrOption, p.PayloadMaxSize, MinPayloadMaxSize, MaxPayloadMaxSize)
	}
	p.seq = p.InitialSequence
	p.ready = true
	return nil
}

// NextSequence is the sequence number the next packet will carry.
func (p *Packetizer) NextSequence() uint16 { return p.seq }

// ParameterSets returns the cached SPS and PPS (nil until seen). The slices
// alias the packetizer's memory and change on the next Packetize call.
func (p *Packetizer) ParameterSets() (sps, pps []byte) { return p.sps, p.pps }

// Packetize appends to dst the RTP packets of one access unit, given as NAL
// units without start codes. All packets carry timestamp ts; the last one has
// the marker bit set. On error nothing is appended and the sequence number
// does not advance.
func (p *Packetizer) Packetize(dst *rtppkt.Packets, nalus [][]byte, ts uint32) error {
	if !p.ready {
		return ErrNotInitialized
	}

	// Validate everything first, so that an error leaves dst untouched.
	hasSPS, hasPPS, hasIDR := false, false, false
	for i, n := range nalus {
		if len(n) == 0 {
			continue
		}
		if n[0]&0x80 != 0 {
			return fmt.Errorf("%w: NAL unit %d has forbidden_zero_bit set", ErrInvalidNALU, i)
		}
		switch t := n[0] & 0x1f; {
		case t == 0 || t >= naluTypeSTAPA:
			return fmt.Errorf("%w: NAL unit %d has type %d, not allowed in an access unit", ErrInvalidNALU, i, t)
		case t == naluTypeSPS:
			hasSPS = true
		case t == naluTypePPS:
			hasPPS = true
		case t == naluTypeIDR:
			hasIDR = true
		}
	}

	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluTypeSPS:
			p.sps = append(p.sps[:0], n...)
		case naluTypePPS:
			p.pps = append(p.pps[:0], n...)
		}
	}
	insert := hasIDR && ((!hasSPS && p.sps != nil) || (!hasPPS && p.pps != nil))

	out := p.out[:0]
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluTypeAUD, naluTypeFiller:
			continue
		case naluTypeIDR:
			if insert {
				insert = false
				if !hasSPS && p.sps != nil {
					out = append(out, p.sps)
				}
				if !hasPPS && p.pps != nil {
					out = append(out, p.pps)
				}
			}
		}
		out = append(out, n)
	}
	p.out = out

	p.emit(dst, out, ts)

	clear(out) // do not keep the caller's memory alive
	return nil
}

// emit writes the packets of the NAL units in out.
func (p *Packetizer) emit(dst *rtppkt.Packets, out [][]byte, ts uint32) {
	limit := p.PayloadMaxSize
	for i := 0; i < len(out); {
		n := out[i]
		if len(n) > limit {
			p.fragment(dst, n, ts, i == len(out)-1)
			i++
			continue
		}

		// Gather out[i:j] into a STAP-A while it fits.
		size, j := 1, i
		for j < len(out) && size+2+len(out[j]) <= limit {
			size += 2 + len(out[j])
			j++
		}
		if j-i < 2 {
			p.begin(dst, ts, i == len(out)-1)
			dst.Write(n)
			dst.End()
			i++
			continue
		}

		var nri byte
		for _, m := range out[i:j] {
			nri = max(nri, m[0]&0x60)
		}
		p.begin(dst, ts, j == len(out))
		_ = dst.WriteByte(nri | naluTypeSTAPA)
		for _, m := range out[i:j] {
			_ = dst.WriteByte(byte(len(m) >> 8))
			_ = dst.WriteByte(byte(len(m)))
			dst.Write(m)
		}
		dst.End()
		i = j
	}
}

// fragment writes n, larger than PayloadMaxSize, as FU-A packets.
func (p *Packetizer) fragment(dst *rtppkt.Packets, n []byte, ts uint32, last bool) {
	indicator := n[0]&0xe0 | naluTypeFUA
	typ := n[0] & 0x1f
	chunk := p.PayloadMaxSize - 2
	rest := n[1:]
	start := byte(0x80)
	for len(rest) > 0 {
		c := min(chunk, len(rest))
		end := byte(0)
		if c == len(rest) {
			end = 0x40
		}
		p.begin(dst, ts, last && end != 0)
		_ = dst.WriteByte(indicator)
		_ = dst.WriteByte(start | end | typ)
		dst.Write(rest[:c])
		dst.End()
		rest = rest[c:]
		start = 0
	}
}

func (p *Packetizer) begin(dst *rtppkt.Packets, ts uint32, marker bool) {
	dst.Begin(rtppkt.Header{
		PayloadType: p.PayloadType,
		Marker:      marker,
		Sequence:    p.seq,
		Timestamp:   ts,
		SSRC:        p.SSRC,
	})
	p.seq++
}
