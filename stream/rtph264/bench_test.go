package rtph264

import (
	"math/rand/v2"
	"testing"

	gortsplibh264 "github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/camagent/camagent/stream/rtppkt"
)

// slice returns a slice NAL unit of n bytes with pseudo-random, zero-free
// content (like emulation-prevented slice data, it holds no start code).
func slice(h byte, n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	b[0] = h
	for i := 1; i < n; i++ {
		b[i] = byte(r.IntN(255) + 1)
	}
	return b
}

// benchAUs are a ~150 KB 1080p-like IDR access unit and a ~15 KB P one.
var benchAUs = []struct {
	name string
	au   [][]byte
}{
	{"IDR150KB", [][]byte{sps, pps, slice(0x65, 150_000, 1)}},
	{"P15KB", [][]byte{slice(0x41, 15_000, 2)}},
}

func annexB(au [][]byte) []byte {
	var b []byte
	for _, n := range au {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func BenchmarkPacketize(b *testing.B) {
	for _, ba := range benchAUs {
		size := 0
		for _, n := range ba.au {
			size += len(n)
		}

		b.Run(ba.name+"/camagent", func(b *testing.B) {
			p := newPacketizer(b, 0, 0)
			var dst rtppkt.Packets
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst.Reset()
				if err := p.Packetize(&dst, ba.au, 0); err != nil {
					b.Fatal(err)
				}
			}
		})

		// pion and gortsplib return packet structs; the "+marshal" variants
		// add the serialization a sender needs, which camagent's output
		// already is.
		for _, marshal := range []bool{false, true} {
			suffix := ""
			if marshal {
				suffix = "+marshal"
			}
			b.Run(ba.name+"/pion"+suffix, func(b *testing.B) {
				stream := annexB(ba.au)
				pk := rtp.NewPacketizer(DefaultPayloadMaxSize+rtppkt.HeaderSize, 96, testSSRC,
					&codecs.H264Payloader{}, rtp.NewFixedSequencer(0), 90000)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					pkts := pk.Packetize(stream, 3000)
					if marshal {
						for _, p := range pkts {
							if _, err := p.Marshal(); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
			})
			b.Run(ba.name+"/gortsplib"+suffix, func(b *testing.B) {
				ssrc, seq := uint32(testSSRC), uint16(0)
				e := &gortsplibh264.Encoder{PayloadType: 96, PayloadMaxSize: DefaultPayloadMaxSize,
					PacketizationMode: 1, SSRC: &ssrc, InitialSequenceNumber: &seq}
				if err := e.Init(); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					pkts, err := e.Encode(ba.au)
					if err != nil {
						b.Fatal(err)
					}
					if marshal {
						for _, p := range pkts {
							if _, err := p.Marshal(); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
			})
		}
	}
}

// TestPacketizeDoesNotAllocate pins the zero-allocation steady state.
func TestPacketizeDoesNotAllocate(t *testing.T) {
	p := newPacketizer(t, 0, 0)
	var dst rtppkt.Packets
	idr := [][]byte{sei, benchAUs[0].au[2]} // SPS/PPS inserted from the cache
	run := func() {
		for _, au := range [][][]byte{benchAUs[0].au, benchAUs[1].au, idr, {aud, pSlice, filler}} {
			dst.Reset()
			if err := p.Packetize(&dst, au, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // grow the buffers
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
