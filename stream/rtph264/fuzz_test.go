package rtph264

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/camagent/camagent/stream/rtppkt"
)

// fuzzInput encodes a PayloadMaxSize and a list of access units as the fuzz
// target reads them: byte 0 picks PayloadMaxSize, then each NAL unit is a
// length byte and that many bytes; length 255 ends an access unit.
func fuzzInput(maxSize int, aus [][][]byte) []byte {
	b := []byte{byte(maxSize - MinPayloadMaxSize)}
	for _, au := range aus {
		for _, n := range au {
			if len(n) >= 255 {
				n = n[:254]
			}
			b = append(b, byte(len(n)))
			b = append(b, n...)
		}
		b = append(b, 255)
	}
	return b
}

func parseFuzzInput(data []byte) (maxSize int, aus [][][]byte) {
	if len(data) == 0 {
		return MinPayloadMaxSize, nil
	}
	maxSize = MinPayloadMaxSize + int(data[0])
	data = data[1:]
	var au [][]byte
	for len(data) > 0 {
		l := int(data[0])
		data = data[1:]
		if l == 255 {
			aus = append(aus, au)
			au = nil
			continue
		}
		l = min(l, len(data))
		au = append(au, data[:l])
		data = data[l:]
	}
	return maxSize, append(aus, au)
}

// model is an independent statement of what a receiver must get back from
// one access unit, given the parameter sets cached so far.
type model struct{ sps, pps []byte }

func (m *model) expect(au [][]byte) (out [][]byte, ok bool) {
	hasSPS, hasPPS, hasIDR := false, false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		t := n[0] & 0x1f
		if n[0]&0x80 != 0 || t == 0 || t >= 24 {
			return nil, false
		}
		hasSPS = hasSPS || t == 7
		hasPPS = hasPPS || t == 8
		hasIDR = hasIDR || t == 5
	}
	for _, n := range au {
		if len(n) > 0 && n[0]&0x1f == 7 {
			m.sps = bytes.Clone(n)
		}
		if len(n) > 0 && n[0]&0x1f == 8 {
			m.pps = bytes.Clone(n)
		}
	}
	inserted := false
	for _, n := range au {
		if len(n) == 0 || n[0]&0x1f == 9 || n[0]&0x1f == 12 {
			continue
		}
		if n[0]&0x1f == 5 && hasIDR && !inserted {
			inserted = true
			if !hasSPS && m.sps != nil {
				out = append(out, m.sps)
			}
			if !hasPPS && m.pps != nil {
				out = append(out, m.pps)
			}
		}
		out = append(out, n)
	}
	return out, true
}

// depacketize checks the packets of one access unit against RFC 6184 and
// returns the NAL units they carry.
func depacketize(dst *rtppkt.Packets, maxSize int, seq uint16, ts uint32) ([][]byte, error) {
	var out [][]byte
	var frag []byte
	for i := 0; i < dst.Len(); i++ {
		b := dst.At(i)
		if len(b) <= rtppkt.HeaderSize || len(b) > rtppkt.HeaderSize+maxSize {
			return nil, fmt.Errorf("packet %d has size %d", i, len(b))
		}
		if b[0] != 0x80 || b[1]&0x7f != 96 || rtppkt.Sequence(b) != seq+uint16(i) ||
			rtppkt.Timestamp(b) != ts || (b[1]&0x80 != 0) != (i == dst.Len()-1) {
			return nil, fmt.Errorf("packet %d has header %x", i, b[:rtppkt.HeaderSize])
		}
		pl := b[rtppkt.HeaderSize:]
		switch pl[0] & 0x1f {
		case 24:
			pl = pl[1:]
			if len(pl) == 0 {
				return nil, fmt.Errorf("packet %d: empty STAP-A", i)
			}
			count := 0
			for len(pl) > 0 {
				if len(pl) < 2 {
					return nil, fmt.Errorf("packet %d: STAP-A truncated", i)
				}
				l := int(pl[0])<<8 | int(pl[1])
				if l == 0 || l > len(pl)-2 {
					return nil, fmt.Errorf("packet %d: STAP-A size %d", i, l)
				}
				out = append(out, pl[2:2+l])
				pl = pl[2+l:]
				count++
			}
			if count < 2 {
				return nil, fmt.Errorf("packet %d: STAP-A of one NAL unit", i)
			}
		case 28:
			if len(pl) < 3 {
				return nil, fmt.Errorf("packet %d: FU-A too short", i)
			}
			s, e := pl[1]&0x80 != 0, pl[1]&0x40 != 0
			if s && e || s != (frag == nil) || pl[1]&0x20 != 0 {
				return nil, fmt.Errorf("packet %d: FU header %x", i, pl[1])
			}
			if s {
				frag = []byte{pl[0]&0xe0 | pl[1]&0x1f}
			} else if frag[0] != pl[0]&0xe0|pl[1]&0x1f {
				return nil, fmt.Errorf("packet %d: FU-A header changed", i)
			}
			frag = append(frag, pl[2:]...)
			if e {
				if len(frag) <= maxSize {
					return nil, fmt.Errorf("packet %d: fragmented a NAL unit that fits", i)
				}
				out = append(out, frag)
				frag = nil
			}
		default:
			if frag != nil {
				return nil, fmt.Errorf("packet %d: FU-A not ended", i)
			}
			out = append(out, pl)
		}
	}
	if frag != nil {
		return nil, fmt.Errorf("FU-A not ended")
	}
	return out, nil
}

func FuzzPacketizeH264(f *testing.F) {
	for _, tc := range cases {
		var aus [][][]byte
		for _, s := range tc.steps {
			aus = append(aus, s.au)
		}
		if tc.maxSize-MinPayloadMaxSize < 255 {
			f.Add(fuzzInput(tc.maxSize, aus))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0, 2, 0xe5, 0x01, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		maxSize, aus := parseFuzzInput(data)
		p := newPacketizer(t, maxSize, 65530)
		var m model
		var dst rtppkt.Packets
		for ai, au := range aus {
			dst.Reset()
			seq := p.NextSequence()
			err := p.Packetize(&dst, au, uint32(ai))
			want, ok := m.expect(au)
			if !ok {
				if err == nil || dst.Len() != 0 || p.NextSequence() != seq {
					t.Fatalf("AU %d %x: err %v, %d packets", ai, au, err, dst.Len())
				}
				continue
			}
			if err != nil {
				t.Fatalf("AU %d %x: %v", ai, au, err)
			}
			got, err := depacketize(&dst, maxSize, seq, uint32(ai))
			if err != nil {
				t.Fatalf("AU %d %x: %v", ai, au, err)
			}
			if fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want) {
				t.Fatalf("AU %d:\n got %x\nwant %x", ai, got, want)
			}
			if p.NextSequence() != seq+uint16(dst.Len()) {
				t.Fatalf("AU %d: sequence advanced to %d", ai, p.NextSequence())
			}
		}
	})
}
