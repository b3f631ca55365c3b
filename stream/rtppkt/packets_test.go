package rtppkt

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

func TestPacketsRoundTripThroughPion(t *testing.T) {
	var p Packets
	for i := 0; i < 3; i++ {
		p.Begin(Header{PayloadType: 96, Marker: i == 2, Sequence: uint16(65534 + i), Timestamp: 0xdeadbeef, SSRC: 0x01020304})
		p.Write([]byte{byte(i), 0xaa})
		p.End()
	}
	if p.Len() != 3 || p.Bytes() != 3*14 {
		t.Fatalf("Len=%d Bytes=%d", p.Len(), p.Bytes())
	}
	for i := 0; i < 3; i++ {
		var pkt rtp.Packet
		if err := pkt.Unmarshal(p.At(i)); err != nil {
			t.Fatal(err)
		}
		if pkt.Version != 2 || pkt.PayloadType != 96 || pkt.Marker != (i == 2) ||
			pkt.SequenceNumber != uint16(65534+i) || pkt.Timestamp != 0xdeadbeef || pkt.SSRC != 0x01020304 ||
			!bytes.Equal(pkt.Payload, []byte{byte(i), 0xaa}) {
			t.Fatalf("packet %d: %+v", i, pkt)
		}
	}
	SetSequence(p.At(1), 7)
	if Sequence(p.At(1)) != 7 {
		t.Fatal("SetSequence")
	}
	p.Reset()
	if p.Len() != 0 {
		t.Fatal("Reset")
	}
}
