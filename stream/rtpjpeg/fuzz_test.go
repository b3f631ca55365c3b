package rtpjpeg

import (
	"bytes"
	"testing"

	"github.com/camagent/camagent/stream/rtppkt"
)

func FuzzParseJPEG(f *testing.F) {
	for _, tc := range jpegCases {
		f.Add(tc.make(f))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Parse(b)
		p := &Packetizer{PayloadMaxSize: MinPayloadMaxSize + len(b)%200, InitialSequence: 65535}
		if err := p.Init(); err != nil {
			t.Fatal(err)
		}
		var dst rtppkt.Packets
		perr := p.Packetize(&dst, b, 7)
		if err != nil {
			if perr == nil || dst.Len() != 0 {
				t.Fatalf("Parse: %v but Packetize: %v, %d packets", err, perr, dst.Len())
			}
			return
		}
		if perr != nil {
			t.Fatal(perr)
		}
		if CheckMode(img.Width, img.Height) != nil || len(img.Scan) == 0 ||
			len(img.Quant[0]) != 64 || len(img.Quant[1]) != 64 || img.Type&^TypeRestart > 1 ||
			(img.Type >= TypeRestart) != (img.RestartInterval != 0) {
			t.Fatalf("accepted %+v", img)
		}
		main, tables, scan, err := depacketize(&dst, p.PayloadMaxSize, 65535, 7)
		if err != nil {
			t.Fatal(err)
		}
		if main[4] != img.Type || !bytes.Equal(tables, cat(img.Quant[0], img.Quant[1])) || !bytes.Equal(scan, img.Scan) {
			t.Fatal("packets differ from the parsed image")
		}
	})
}
