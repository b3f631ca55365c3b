package rtpjpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmjpeg"

	"github.com/camagent/camagent/stream/rtppkt"
)

// frame1080p encodes a 1920x1080 picture of smooth gradients with some
// pseudo-random texture: about 100 KB at quality 75, like a camera frame.
func frame1080p(t testing.TB) []byte {
	const noise = 5
	t.Helper()
	const w, h = 1920, 1080
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Y[y*img.YStride+x] = uint8(x/8 + y/6 + r.IntN(noise+1))
		}
	}
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			img.Cb[y*img.CStride+x] = uint8(100 + x/16)
			img.Cr[y*img.CStride+x] = uint8(140 - y/16)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkPacketize(b *testing.B) {
	frame := frame1080p(b)
	b.Logf("frame: %d bytes", len(frame))

	b.Run("JPEG1080p/camagent", func(b *testing.B) {
		p := &Packetizer{SSRC: testSSRC}
		if err := p.Init(); err != nil {
			b.Fatal(err)
		}
		var dst rtppkt.Packets
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			dst.Reset()
			if err := p.Packetize(&dst, frame, 0); err != nil {
				b.Fatal(err)
			}
		}
	})

	// gortsplib returns packet structs; "+marshal" adds the serialization
	// a sender needs, which camagent's output already is.
	for _, marshal := range []bool{false, true} {
		name := "JPEG1080p/gortsplib"
		if marshal {
			name += "+marshal"
		}
		b.Run(name, func(b *testing.B) {
			ssrc, seq := uint32(testSSRC), uint16(0)
			e := &rtpmjpeg.Encoder{PayloadMaxSize: DefaultPayloadMaxSize, SSRC: &ssrc, InitialSequenceNumber: &seq}
			if err := e.Init(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				pkts, err := e.Encode(frame)
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
