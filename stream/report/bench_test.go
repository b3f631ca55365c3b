package report

import (
	"testing"
	"time"
)

func BenchmarkOnPacket(b *testing.B) {
	s := NewSender(testSSRC, 90000, testCNAME)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.OnPacket(uint32(i), time.Duration(i), 1400)
	}
}

func BenchmarkReport(b *testing.B) {
	s := NewSender(testSSRC, 90000, testCNAME)
	s.OnPacket(1000, time.Second, 1400)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Report(testWall, 2*time.Second); !ok {
			b.Fatal("no report")
		}
	}
}

func BenchmarkReceive(b *testing.B) {
	s := newTestSender(b)
	pkt := ffmpegRR(3, 10, 0x2000, 900, testLSR, 65536)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := s.Receive(pkt, testArrival); err != nil {
			b.Fatal(err)
		}
	}
}
