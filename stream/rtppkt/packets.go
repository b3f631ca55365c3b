// Package rtppkt holds the RTP packets of one access unit back to back in a
// single reusable buffer, so that packetizing a frame does not allocate once
// the buffer has grown to the stream's largest frame.
package rtppkt

import "encoding/binary"

// HeaderSize is the size of an RTP fixed header without CSRCs or extensions.
const HeaderSize = 12

// Header is the part of the RTP fixed header (RFC 3550 §5.1) a packetizer sets.
type Header struct {
	PayloadType uint8
	Marker      bool
	Sequence    uint16
	Timestamp   uint32
	SSRC        uint32
}

// Packets is a list of complete RTP packets stored in one buffer.
// The zero value is ready to use.
type Packets struct {
	buf  []byte
	ends []int
	open bool
}

// Reset empties the list, keeping its memory.
func (p *Packets) Reset() {
	p.buf = p.buf[:0]
	p.ends = p.ends[:0]
	p.open = false
}

// Len is the number of complete packets.
func (p *Packets) Len() int { return len(p.ends) }

// At returns packet i (header and payload). It aliases the list's memory.
func (p *Packets) At(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.buf[start:p.ends[i]]
}

// Bytes is the total size of all packets.
func (p *Packets) Bytes() int {
	if len(p.ends) == 0 {
		return 0
	}
	return p.ends[len(p.ends)-1]
}

// Begin starts a new packet by writing its 12-byte header.
func (p *Packets) Begin(h Header) {
	if p.open {
		panic("rtppkt: Begin before End")
	}
	p.open = true
	var m byte
	if h.Marker {
		m = 0x80
	}
	p.buf = append(p.buf, 0x80, m|h.PayloadType&0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	hdr := p.buf[len(p.buf)-HeaderSize:]
	binary.BigEndian.PutUint16(hdr[2:], h.Sequence)
	binary.BigEndian.PutUint32(hdr[4:], h.Timestamp)
	binary.BigEndian.PutUint32(hdr[8:], h.SSRC)
}

// Write appends payload bytes to the open packet.
func (p *Packets) Write(b []byte) { p.buf = append(p.buf, b...) }

// WriteByte appends one payload byte to the open packet.
func (p *Packets) WriteByte(c byte) error {
	p.buf = append(p.buf, c)
	return nil
}

// End closes the open packet.
func (p *Packets) End() {
	if !p.open {
		panic("rtppkt: End without Begin")
	}
	p.open = false
	p.ends = append(p.ends, len(p.buf))
}

// SetMarker sets or clears the marker bit of packet i.
func (p *Packets) SetMarker(i int, on bool) {
	b := p.At(i)
	if on {
		b[1] |= 0x80
	} else {
		b[1] &^= 0x80
	}
}

// Sequence reads the sequence number of an RTP packet.
func Sequence(pkt []byte) uint16 { return binary.BigEndian.Uint16(pkt[2:]) }

// SetSequence rewrites the sequence number of an RTP packet in place.
func SetSequence(pkt []byte, seq uint16) { binary.BigEndian.PutUint16(pkt[2:], seq) }

// Timestamp reads the RTP timestamp of an RTP packet.
func Timestamp(pkt []byte) uint32 { return binary.BigEndian.Uint32(pkt[4:]) }
