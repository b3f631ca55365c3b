package rtph264

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	gortsplibh264 "github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"

	"github.com/camagent/camagent/stream/rtppkt"
)

const (
	testSSRC = 0x01020304
	testTS   = 0x11223344
)

// nal returns a NAL unit of n bytes with header byte h and a payload that
// never contains a zero byte (so no start code can appear in it).
func nal(h byte, n int) []byte {
	b := make([]byte, n)
	b[0] = h
	for i := 1; i < n; i++ {
		b[i] = byte(i%250 + 1)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	sps     = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8}
	pps     = []byte{0x68, 0xce, 0x3c, 0x80}
	sei     = []byte{0x06, 0x05, 0x02, 0xaa, 0xbb, 0x80}
	aud     = []byte{0x09, 0xf0}
	filler  = []byte{0x0c, 0xff, 0xff, 0x80}
	pSlice  = []byte{0x41, 0x9a, 0x21, 0x6c}
	idrTiny = []byte{0x65, 0x88, 0x84, 0x21}
)

// pkt is an expected packet; its header gets PT 96, SSRC testSSRC and
// timestamp testTS.
type pkt struct {
	seq     uint16
	marker  bool
	payload []byte
}

func (p pkt) bytes() []byte {
	h := []byte{0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if p.marker {
		h[1] |= 0x80
	}
	binary.BigEndian.PutUint16(h[2:], p.seq)
	binary.BigEndian.PutUint32(h[4:], testTS)
	binary.BigEndian.PutUint32(h[8:], testSSRC)
	return cat(h, p.payload)
}

// step is one access unit and what it must give.
type step struct {
	au   [][]byte
	want []pkt
	// dec is what a depacketizer must get back; nil means au itself.
	dec [][]byte
}

type testCase struct {
	name     string
	maxSize  int
	firstSeq uint16
	steps    []step
}

func stap(nri byte, nalus ...[]byte) []byte {
	b := []byte{nri | 24}
	for _, n := range nalus {
		b = append(b, byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

func fu(n []byte, start, end bool, chunk []byte) []byte {
	h := n[0] & 0x1f
	if start {
		h |= 0x80
	}
	if end {
		h |= 0x40
	}
	return cat([]byte{n[0]&0xe0 | 28, h}, chunk)
}

var (
	nal8  = nal(0x65, 8)  // exactly PayloadMaxSize 8
	nal9  = nal(0x65, 9)  // PayloadMaxSize+1
	nal13 = nal(0x41, 13) // 12 bytes after the header: two full FU-A chunks of 6
	nal24 = nal(0x25, 24) // 3*PayloadMaxSize, NRI 1
	big   = nal(0x65, 40)
)

var cases = []testCase{
	{
		name: "single small NAL", maxSize: 1200, firstSeq: 100,
		steps: []step{{
			au:   [][]byte{pSlice},
			want: []pkt{{100, true, pSlice}},
		}},
	},
	{
		name: "SPS+PPS STAP-A then IDR", maxSize: 1200, firstSeq: 1,
		steps: []step{{
			au:   [][]byte{sps, pps, idrTiny},
			want: []pkt{{1, true, stap(0x60, sps, pps, idrTiny)}},
		}},
	},
	{
		name: "SPS+PPS STAP-A, IDR fragmented", maxSize: 24, firstSeq: 7,
		steps: []step{{
			au: [][]byte{sps, pps, big},
			want: []pkt{
				{7, false, stap(0x60, sps, pps)},
				{8, false, fu(big, true, false, big[1:23])},
				{9, true, fu(big, false, true, big[23:])},
			},
		}},
	},
	{
		name: "NAL of PayloadMaxSize is a single packet", maxSize: 8,
		steps: []step{{au: [][]byte{nal8}, want: []pkt{{0, true, nal8}}}},
	},
	{
		name: "NAL of PayloadMaxSize+1 is two FU-A", maxSize: 8,
		steps: []step{{au: [][]byte{nal9}, want: []pkt{
			{0, false, fu(nal9, true, false, nal9[1:7])},
			{1, true, fu(nal9, false, true, nal9[7:9])},
		}}},
	},
	{
		name: "FU-A chunks fill exactly", maxSize: 8,
		steps: []step{{au: [][]byte{nal13}, want: []pkt{
			{0, false, fu(nal13, true, false, nal13[1:7])},
			{1, true, fu(nal13, false, true, nal13[7:13])},
		}}},
	},
	{
		name: "NAL of 3*PayloadMaxSize", maxSize: 8,
		steps: []step{{au: [][]byte{nal24}, want: []pkt{
			{0, false, fu(nal24, true, false, nal24[1:7])},
			{1, false, fu(nal24, false, false, nal24[7:13])},
			{2, false, fu(nal24, false, false, nal24[13:19])},
			{3, true, fu(nal24, false, true, nal24[19:24])},
		}}},
	},
	{
		name: "STAP-A exactly PayloadMaxSize", maxSize: 8,
		steps: []step{{
			au:   [][]byte{{0x06}, {0x41, 0x01}},
			want: []pkt{{0, true, stap(0x40, []byte{0x06}, []byte{0x41, 0x01})}},
		}},
	},
	{
		name: "STAP-A one byte too big gives single packets", maxSize: 8,
		steps: []step{{
			au:   [][]byte{{0x06, 0x01}, {0x41, 0x01}},
			want: []pkt{{0, false, []byte{0x06, 0x01}}, {1, true, []byte{0x41, 0x01}}},
		}},
	},
	{
		name: "marker only after the last FU-A of the last NAL", maxSize: 8,
		steps: []step{{
			au: [][]byte{nal9, pSlice},
			want: []pkt{
				{0, false, fu(nal9, true, false, nal9[1:7])},
				{1, false, fu(nal9, false, true, nal9[7:9])},
				{2, true, pSlice},
			},
		}},
	},
	{
		name: "AUD and filler dropped, empty NAL skipped", maxSize: 1200, firstSeq: 5,
		steps: []step{
			{
				au:   [][]byte{aud, {}, pSlice, filler},
				want: []pkt{{5, true, pSlice}},
				dec:  [][]byte{pSlice},
			},
			{au: [][]byte{aud, filler, nil}, want: nil, dec: [][]byte{}},
			{au: [][]byte{pSlice}, want: []pkt{{6, true, pSlice}}},
		},
	},
	{
		name: "SPS and PPS inserted before an IDR lacking them", maxSize: 18, firstSeq: 10,
		steps: []step{
			{
				au:   [][]byte{aud, sps, pps, idrTiny},
				want: []pkt{{10, false, stap(0x60, sps, pps)}, {11, true, idrTiny}},
				dec:  [][]byte{sps, pps, idrTiny},
			},
			{au: [][]byte{pSlice}, want: []pkt{{12, true, pSlice}}},
			{
				au: [][]byte{sei, idrTiny},
				want: []pkt{
					{13, false, sei},
					{14, false, stap(0x60, sps, pps)},
					{15, true, idrTiny},
				},
				dec: [][]byte{sei, sps, pps, idrTiny},
			},
		},
	},
	{
		name: "only the missing PPS is inserted", maxSize: 1200,
		steps: []step{
			{au: [][]byte{pps, pSlice}, want: []pkt{{0, true, stap(0x60, pps, pSlice)}}},
			{
				au:   [][]byte{sps, idrTiny},
				want: []pkt{{1, true, stap(0x60, sps, pps, idrTiny)}},
				dec:  [][]byte{sps, pps, idrTiny},
			},
		},
	},
	{
		name: "IDR before any parameter set is sent as is", maxSize: 1200,
		steps: []step{{au: [][]byte{idrTiny}, want: []pkt{{0, true, idrTiny}}}},
	},
	{
		name: "sequence number wraps", maxSize: 8, firstSeq: 65534,
		steps: []step{{au: [][]byte{nal24}, want: []pkt{
			{65534, false, fu(nal24, true, false, nal24[1:7])},
			{65535, false, fu(nal24, false, false, nal24[7:13])},
			{0, false, fu(nal24, false, false, nal24[13:19])},
			{1, true, fu(nal24, false, true, nal24[19:24])},
		}}},
	},
}

func newPacketizer(t testing.TB, maxSize int, seq uint16) *Packetizer {
	t.Helper()
	p := &Packetizer{SSRC: testSSRC, PayloadMaxSize: maxSize, InitialSequence: seq}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPacketize(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacketizer(t, tc.maxSize, tc.firstSeq)
			var dst rtppkt.Packets
			for si, s := range tc.steps {
				dst.Reset()
				if err := p.Packetize(&dst, s.au, testTS); err != nil {
					t.Fatalf("step %d: %v", si, err)
				}
				if dst.Len() != len(s.want) {
					t.Fatalf("step %d: %d packets, want %d", si, dst.Len(), len(s.want))
				}
				for i, w := range s.want {
					if got, want := dst.At(i), w.bytes(); !bytes.Equal(got, want) {
						t.Fatalf("step %d packet %d:\n got %x\nwant %x", si, i, got, want)
					}
				}
			}
		})
	}
}

// TestHeaderBytes pins the full bytes of one packet, header included.
func TestHeaderBytes(t *testing.T) {
	p := &Packetizer{SSRC: 0xdeadbeef, InitialSequence: 0x1234}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	var dst rtppkt.Packets
	if err := p.Packetize(&dst, [][]byte{{0x41, 0xaa}}, 0x01020304); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x80, 0xe0, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x41, 0xaa}
	if !bytes.Equal(dst.At(0), want) {
		t.Fatalf("got %x want %x", dst.At(0), want)
	}
	if p.NextSequence() != 0x1235 {
		t.Fatalf("NextSequence %d", p.NextSequence())
	}
}

func TestDecodeWithGortsplib(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacketizer(t, tc.maxSize, tc.firstSeq)
			d := &gortsplibh264.Decoder{PacketizationMode: 1}
			if err := d.Init(); err != nil {
				t.Fatal(err)
			}
			var dst rtppkt.Packets
			for si, s := range tc.steps {
				dst.Reset()
				if err := p.Packetize(&dst, s.au, testTS+uint32(si)); err != nil {
					t.Fatal(err)
				}
				want := s.dec
				if want == nil {
					want = s.au
				}
				if dst.Len() == 0 {
					if len(want) != 0 {
						t.Fatalf("step %d: no packets", si)
					}
					continue
				}
				var got [][]byte
				for i := 0; i < dst.Len(); i++ {
					var rp rtp.Packet
					if err := rp.Unmarshal(dst.At(i)); err != nil {
						t.Fatal(err)
					}
					au, err := d.Decode(&rp)
					if i < dst.Len()-1 {
						if !errors.Is(err, gortsplibh264.ErrMorePacketsNeeded) {
							t.Fatalf("step %d packet %d: %v", si, i, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("step %d packet %d: %v", si, i, err)
					}
					got = au
				}
				if fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want) {
					t.Fatalf("step %d:\n got %x\nwant %x", si, got, want)
				}
			}
		})
	}
}

func TestPacketizeErrors(t *testing.T) {
	for _, au := range [][][]byte{
		{{0x00, 0x01}},          // type 0
		{{0xe5, 0x01}},          // forbidden bit
		{pSlice, {0x18, 0x00}},  // STAP-A
		{{0x1c, 0x85, 0x01}},    // FU-A
		{{0x1f}},                // type 31
		{sps, pps, {0x99, 0x1}}, // forbidden bit after valid NALs
	} {
		p := newPacketizer(t, 1200, 42)
		var dst rtppkt.Packets
		err := p.Packetize(&dst, au, 0)
		if !errors.Is(err, ErrInvalidNALU) {
			t.Fatalf("%x: err %v", au, err)
		}
		if dst.Len() != 0 || p.NextSequence() != 42 {
			t.Fatalf("%x: wrote %d packets, seq %d", au, dst.Len(), p.NextSequence())
		}
		if s, q := p.ParameterSets(); s != nil || q != nil {
			t.Fatalf("%x: cached parameter sets from a rejected AU", au)
		}
	}
}

func TestInit(t *testing.T) {
	var p Packetizer
	if err := p.Packetize(&rtppkt.Packets{}, [][]byte{pSlice}, 0); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("before Init: %v", err)
	}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 96 || p.PayloadMaxSize != 1200 {
		t.Fatalf("defaults: %+v", p)
	}
	for _, bad := range []Packetizer{{PayloadType: 128}, {PayloadMaxSize: 2}, {PayloadMaxSize: -1}, {PayloadMaxSize: 65524}} {
		if err := bad.Init(); !errors.Is(err, ErrOption) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

func TestHelpers(t *testing.T) {
	if !IsIDR([][]byte{sps, pps, idrTiny}) || IsIDR([][]byte{sps, pSlice, {}}) {
		t.Fatal("IsIDR")
	}
	if got := ProfileLevelID(sps); got != "42C01F" {
		t.Fatalf("ProfileLevelID %q", got)
	}
	if got := ProfileLevelID([]byte{0x67, 0x42}); got != "" {
		t.Fatalf("ProfileLevelID short %q", got)
	}
	if got := SpropParameterSets(sps, pps); got != "Z0LAH9oBQBbo,aM48gA==" {
		t.Fatalf("SpropParameterSets %q", got)
	}
	if got := SpropParameterSets(sps, nil); got != "Z0LAH9oBQBbo" {
		t.Fatalf("SpropParameterSets without PPS %q", got)
	}
}
