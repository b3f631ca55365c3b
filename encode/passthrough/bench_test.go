package passthrough

import (
	"os"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

func idr1080(b *testing.B) []byte {
	data, err := os.ReadFile(clip(b, "idr1080.264"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkSplit compares the reusing splitter with mediacommon's
// AnnexB.Unmarshal, which allocates the NAL unit list (and a position
// list) on every call.
func BenchmarkSplit(b *testing.B) {
	data := idr1080(b)
	b.Run("passthrough", func(b *testing.B) {
		var nalus [][]byte
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if nalus, err = splitAnnexB(nalus[:0], data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mediacommon", func(b *testing.B) {
		var au h264.AnnexB
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if err := au.Unmarshal(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkH264EncodeIDR1080p(b *testing.B) {
	data := idr1080(b)
	e := NewH264()
	f := h264Frame(data, 0)
	if au, err := e.Encode(f); err != nil || au == nil || !au.Keyframe {
		b.Fatalf("%v, %v", au, err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}
