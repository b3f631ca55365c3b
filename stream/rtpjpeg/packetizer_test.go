package rtpjpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmjpeg"
	"github.com/pion/rtp"

	"github.com/camagent/camagent/stream/rtppkt"
)

const (
	testSSRC = 0x0a0b0c0d
	testTS   = 0x11223344
)

func pattern(n, from int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((from+i)%200 + 1)
	}
	return b
}

var (
	q0 = pattern(64, 0)
	q1 = pattern(64, 100)
)

// handJPEG is a 16x8 4:2:0 JPEG without DHT, with an optional DRI.
func handJPEG(dri uint16, scan []byte) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, 0xff, 0xdb, 0, 2+2*65, 0x00)
	b = append(b, q0...)
	b = append(b, 0x01)
	b = append(b, q1...)
	if dri != 0 {
		b = append(b, 0xff, 0xdd, 0, 4, byte(dri>>8), byte(dri))
	}
	b = append(b, 0xff, 0xc0, 0, 17, 8, 0, 8, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	b = append(b, 0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
	b = append(b, scan...)
	return append(b, 0xff, 0xd9)
}

func header(seq uint16, marker bool) []byte {
	h := []byte{0x80, 26, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if marker {
		h[1] |= 0x80
	}
	binary.BigEndian.PutUint16(h[2:], seq)
	binary.BigEndian.PutUint32(h[4:], testTS)
	binary.BigEndian.PutUint32(h[8:], testSSRC)
	return h
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var qHeader = cat([]byte{0, 0, 0, 128}, q0, q1)

func TestPacketizeExactBytes(t *testing.T) {
	scan := pattern(155, 7)
	for _, tc := range []struct {
		name     string
		maxSize  int
		firstSeq uint16
		jpeg     []byte
		want     [][]byte
	}{
		{
			name: "one packet", maxSize: 0, firstSeq: 9, jpeg: handJPEG(0, scan),
			want: [][]byte{cat(header(9, true), []byte{0, 0, 0, 0, 1, 255, 2, 1}, qHeader, scan)},
		},
		{
			name: "three fragments", maxSize: 150, firstSeq: 65535, jpeg: handJPEG(0, scan),
			want: [][]byte{
				cat(header(65535, false), []byte{0, 0, 0, 0, 1, 255, 2, 1}, qHeader, scan[:10]),
				cat(header(0, false), []byte{0, 0, 0, 10, 1, 255, 2, 1}, scan[10:152]),
				cat(header(1, true), []byte{0, 0, 0, 152, 1, 255, 2, 1}, scan[152:]),
			},
		},
		{
			name: "restart marker header", maxSize: 150, firstSeq: 3, jpeg: handJPEG(0x0102, scan),
			want: [][]byte{
				cat(header(3, false), []byte{0, 0, 0, 0, 65, 255, 2, 1, 1, 2, 0xff, 0xff}, qHeader, scan[:6]),
				cat(header(4, false), []byte{0, 0, 0, 6, 65, 255, 2, 1, 1, 2, 0xff, 0xff}, scan[6:144]),
				cat(header(5, true), []byte{0, 0, 0, 144, 65, 255, 2, 1, 1, 2, 0xff, 0xff}, scan[144:]),
			},
		},
		{
			name: "scan filling the first packet exactly", maxSize: 150, jpeg: handJPEG(0, scan[:10]),
			want: [][]byte{cat(header(0, true), []byte{0, 0, 0, 0, 1, 255, 2, 1}, qHeader, scan[:10])},
		},
		{
			name: "minimum PayloadMaxSize", maxSize: MinPayloadMaxSize, jpeg: handJPEG(1, scan[:2]),
			want: [][]byte{
				cat(header(0, false), []byte{0, 0, 0, 0, 65, 255, 2, 1, 0, 1, 0xff, 0xff}, qHeader, scan[:1]),
				cat(header(1, true), []byte{0, 0, 0, 1, 65, 255, 2, 1, 0, 1, 0xff, 0xff}, scan[1:2]),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Packetizer{PayloadMaxSize: tc.maxSize, SSRC: testSSRC, InitialSequence: tc.firstSeq}
			if err := p.Init(); err != nil {
				t.Fatal(err)
			}
			var dst rtppkt.Packets
			if err := p.Packetize(&dst, tc.jpeg, testTS); err != nil {
				t.Fatal(err)
			}
			if dst.Len() != len(tc.want) {
				t.Fatalf("%d packets, want %d", dst.Len(), len(tc.want))
			}
			for i, w := range tc.want {
				if !bytes.Equal(dst.At(i), w) {
					t.Fatalf("packet %d:\n got %x\nwant %x", i, dst.At(i), w)
				}
			}
		})
	}
}

// depacketize checks the packets of one image against RFC 2435 and returns
// the main header of the first packet, the tables and the scan data.
func depacketize(dst *rtppkt.Packets, maxSize int, seq uint16, ts uint32) (main, tables, scan []byte, err error) {
	for i := 0; i < dst.Len(); i++ {
		b := dst.At(i)
		if len(b) > rtppkt.HeaderSize+maxSize || len(b) < rtppkt.HeaderSize+mainHeaderSize+1 {
			return nil, nil, nil, fmt.Errorf("packet %d of %d bytes", i, len(b))
		}
		if b[0] != 0x80 || b[1]&0x7f != 26 || rtppkt.Sequence(b) != seq+uint16(i) ||
			rtppkt.Timestamp(b) != ts || (b[1]&0x80 != 0) != (i == dst.Len()-1) {
			return nil, nil, nil, fmt.Errorf("packet %d header %x", i, b[:12])
		}
		pl := b[rtppkt.HeaderSize:]
		off := int(pl[1])<<16 | int(pl[2])<<8 | int(pl[3])
		if off != len(scan) {
			return nil, nil, nil, fmt.Errorf("packet %d offset %d, want %d", i, off, len(scan))
		}
		if i == 0 {
			main = bytes.Clone(pl[:8])
		} else if !bytes.Equal(pl[4:8], main[4:8]) || pl[0] != 0 {
			return nil, nil, nil, fmt.Errorf("packet %d main header %x", i, pl[:8])
		}
		pl = pl[8:]
		if main[4] >= 64 {
			if len(pl) < 4 || pl[2] != 0xff || pl[3] != 0xff {
				return nil, nil, nil, fmt.Errorf("packet %d restart header", i)
			}
			pl = pl[4:]
		}
		if i == 0 {
			if len(pl) < 4+128 || !bytes.Equal(pl[:4], []byte{0, 0, 0, 128}) {
				return nil, nil, nil, fmt.Errorf("quantization table header")
			}
			tables, pl = pl[4:4+128], pl[4+128:]
		}
		if len(pl) == 0 {
			return nil, nil, nil, fmt.Errorf("packet %d without scan data", i)
		}
		scan = append(scan, pl...)
	}
	return main, tables, scan, nil
}

func TestPacketizeCases(t *testing.T) {
	for _, tc := range jpegCases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Packetizer{PayloadMaxSize: 300, SSRC: testSSRC, InitialSequence: 65500}
			if err := p.Init(); err != nil {
				t.Fatal(err)
			}
			var dst rtppkt.Packets
			b := tc.make(t)
			err := p.Packetize(&dst, b, testTS)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || dst.Len() != 0 || p.NextSequence() != 65500 {
					t.Fatalf("err %v, %d packets", err, dst.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			img, _ := Parse(b)
			main, tables, scan, err := depacketize(&dst, 300, 65500, testTS)
			if err != nil {
				t.Fatal(err)
			}
			if main[4] != tc.typ || main[5] != 255 || int(main[6])*8 != tc.w || int(main[7])*8 != tc.h {
				t.Fatalf("main header %x", main)
			}
			if !bytes.Equal(tables, cat(img.Quant[0], img.Quant[1])) || !bytes.Equal(scan, img.Scan) {
				t.Fatal("tables or scan differ")
			}
		})
	}
}

// TestDecodeWithGortsplib sends images through gortsplib's RFC 2435
// depacketizer and checks that the rebuilt JPEG decodes to the same pixels.
// gortsplib does not depacketize types 64-127, so DRI cases are left out.
func TestDecodeWithGortsplib(t *testing.T) {
	orig, err := jpeg.Decode(bytes.NewReader(goJPEG(t, 64, 48, 75)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range jpegCases {
		if tc.err != nil || tc.restart != 0 || tc.typ != Type420 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			p := &Packetizer{PayloadMaxSize: 400}
			if err := p.Init(); err != nil {
				t.Fatal(err)
			}
			var dst rtppkt.Packets
			if err := p.Packetize(&dst, tc.make(t), 0); err != nil {
				t.Fatal(err)
			}
			if dst.Len() < 2 {
				t.Fatalf("%d packets, want fragments", dst.Len())
			}
			d := &rtpmjpeg.Decoder{}
			if err := d.Init(); err != nil {
				t.Fatal(err)
			}
			var out []byte
			for i := 0; i < dst.Len(); i++ {
				var pkt rtp.Packet
				if err := pkt.Unmarshal(dst.At(i)); err != nil {
					t.Fatal(err)
				}
				out, err = d.Decode(&pkt)
				if i < dst.Len()-1 != errors.Is(err, rtpmjpeg.ErrMorePacketsNeeded) {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			got, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if !samePixels(orig, got) {
				t.Fatal("decoded pixels differ")
			}
		})
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

func TestBigScanOffsets(t *testing.T) {
	scan := pattern(70_000, 3)
	p := &Packetizer{}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	var dst rtppkt.Packets
	if err := p.Packetize(&dst, handJPEG(0, scan), testTS); err != nil {
		t.Fatal(err)
	}
	_, _, got, err := depacketize(&dst, DefaultPayloadMaxSize, 0, testTS)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, scan) {
		t.Fatal("scan differs")
	}
	last := dst.At(dst.Len() - 1)[rtppkt.HeaderSize:]
	if off := 1200 - 140 + (dst.Len()-2)*1192; !bytes.Equal(last[1:4], []byte{byte(off >> 16), byte(off >> 8), byte(off)}) {
		t.Fatalf("last offset %x, want %d", last[1:4], off)
	}
}

func TestInit(t *testing.T) {
	var p Packetizer
	if err := p.Packetize(&rtppkt.Packets{}, handJPEG(0, []byte{1}), 0); !errors.Is(err, ErrNotInitialized) {
		t.Fatal(err)
	}
	if err := p.Init(); err != nil || p.PayloadMaxSize != DefaultPayloadMaxSize {
		t.Fatal(err, p.PayloadMaxSize)
	}
	for _, n := range []int{-1, MinPayloadMaxSize - 1, MaxPayloadMaxSize + 1} {
		p := Packetizer{PayloadMaxSize: n}
		if err := p.Init(); !errors.Is(err, ErrOption) {
			t.Fatalf("%d: %v", n, err)
		}
	}
}

func TestPacketizeDoesNotAllocate(t *testing.T) {
	frames := [][]byte{goJPEG(t, 320, 240, 80), handJPEG(16, pattern(5000, 1))}
	p := &Packetizer{}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	var dst rtppkt.Packets
	run := func() {
		for _, f := range frames {
			dst.Reset()
			if err := p.Packetize(&dst, f, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
