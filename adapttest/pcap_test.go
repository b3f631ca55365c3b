package adapttest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// packet is what the test needs of one captured IPv4 packet.
type packet struct {
	at       time.Time
	src, dst netip.Addr
	proto    byte   // 6 TCP, 17 UDP
	payload  int    // transport payload bytes (from the IP length)
	data     []byte // captured transport payload (truncated by the snap length)
}

// readPcap reads a classic libpcap file of Ethernet frames (tcpdump -w).
func readPcap(path string) ([]packet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("pcap: short file")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	default:
		switch binary.BigEndian.Uint32(b) {
		case 0xa1b2c3d4:
			bo = binary.BigEndian
		case 0xa1b23c4d:
			bo, nano = binary.BigEndian, true
		default:
			return nil, errors.New("pcap: not a pcap file")
		}
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d, want Ethernet", lt)
	}
	var out []packet
	for off := 24; off+16 <= len(b); {
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		incl := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+incl > len(b) {
			break // the capture was cut mid-record
		}
		rec := b[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		if len(rec) < 14+20 || binary.BigEndian.Uint16(rec[12:]) != 0x0800 {
			continue
		}
		ip := rec[14:]
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || len(ip) < ihl+8 {
			continue
		}
		p := packet{at: time.Unix(int64(sec), ns), proto: ip[9],
			src: netip.AddrFrom4([4]byte(ip[12:16])), dst: netip.AddrFrom4([4]byte(ip[16:20]))}
		l4 := ip[ihl:]
		switch p.proto {
		case 17:
			p.payload = total - ihl - 8
			p.data = l4[8:]
		case 6:
			if len(l4) < 20 {
				continue
			}
			thl := int(l4[12]>>4) * 4
			p.payload = total - ihl - thl
			if thl <= len(l4) {
				p.data = l4[thl:]
			}
		default:
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// rtpFrames counts, among the MJPEG frames of which at least one RTP packet
// from src arrived between from and to, those that arrived whole: the first
// fragment (offset 0), the last (marker) and no sequence gap between.
func rtpFrames(pkts []packet, src netip.Addr, from, to time.Time) (received, whole int, bytes int) {
	type frame struct {
		first          time.Time
		minSeq, maxSeq int64
		n              int
		start, marker  bool
	}
	frames := map[uint32]*frame{}
	var order []uint32
	var last int64 = -1
	for _, p := range pkts {
		if p.proto != 17 || p.src != src || len(p.data) < 12+8 || p.data[0]>>6 != 2 {
			continue
		}
		if pt := p.data[1]; pt >= 200 && pt <= 206 {
			continue // RTCP
		}
		seq := int64(binary.BigEndian.Uint16(p.data[2:]))
		if last >= 0 { // unwrap
			for seq < last-32768 {
				seq += 65536
			}
		}
		last = max(last, seq)
		ts := binary.BigEndian.Uint32(p.data[4:])
		f := frames[ts]
		if f == nil {
			f = &frame{first: p.at, minSeq: seq, maxSeq: seq}
			frames[ts] = f
			order = append(order, ts)
		}
		f.n++
		f.minSeq, f.maxSeq = min(f.minSeq, seq), max(f.maxSeq, seq)
		if off := int(p.data[13])<<16 | int(p.data[14])<<8 | int(p.data[15]); off == 0 {
			f.start = true
		}
		f.marker = f.marker || p.data[1]&0x80 != 0
		if !p.at.Before(from) && p.at.Before(to) {
			bytes += p.payload
		}
	}
	for _, ts := range order {
		f := frames[ts]
		if f.first.Before(from) || !f.first.Before(to) {
			continue
		}
		received++
		if f.start && f.marker && int64(f.n) == f.maxSeq-f.minSeq+1 {
			whole++
		}
	}
	return received, whole, bytes
}

// tcpBytes sums the TCP payload from src between from and to.
func tcpBytes(pkts []packet, src netip.Addr, from, to time.Time) int {
	n := 0
	for _, p := range pkts {
		if p.proto == 6 && p.src == src && !p.at.Before(from) && p.at.Before(to) {
			n += p.payload
		}
	}
	return n
}
