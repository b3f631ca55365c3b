package report

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestNTPTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Unix(0, 0), 2208988800 << 32},
		{time.Unix(0, 250_000_000), 2208988800<<32 | 0x40000000},
		{testWall, 0xeb6d7540_80000000},
		{time.Unix(1, 1), (2208988800+1)<<32 | 4}, // 1 ns = 4.29 units, truncated
		// 2036-02-07 06:28:16 UTC starts NTP era 1: seconds wrap to zero.
		{time.Date(2036, 2, 7, 6, 28, 16, 500_000_000, time.UTC), 0x80000000},
	} {
		if got := NTPTime(c.t); got != c.want {
			t.Errorf("NTPTime(%v) = %#x, want %#x", c.t, got, c.want)
		}
	}
}

// parseReport unmarshals a compound packet built by Report or Bye and checks
// that it is a valid RTCP compound with our CNAME.
func parseReport(t *testing.T, pkt []byte) []rtcp.Packet {
	t.Helper()
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	cp := rtcp.CompoundPacket(pkts)
	if err := cp.Validate(); err != nil {
		t.Fatalf("invalid compound packet: %v", err)
	}
	if cname, err := cp.CNAME(); err != nil || cname != testCNAME {
		t.Fatalf("CNAME = %q, %v", cname, err)
	}
	return pkts
}

func TestReportFields(t *testing.T) {
	s := NewSender(testSSRC, 90000, testCNAME)
	if pkt, ok := s.Report(testWall, time.Second); ok || pkt != nil {
		t.Fatalf("Report before any packet = %x, %v; want nil, false", pkt, ok)
	}
	s.OnPacket(1000, 10*time.Second, 1000)
	s.OnPacket(1000, 10*time.Second, 500)
	s.OnPacket(4600, 10*time.Second+40*time.Millisecond, 700)

	// Half a second after the last frame's capture: 45000 ticks later.
	pkt, ok := s.Report(testWall, 10*time.Second+540*time.Millisecond)
	if !ok {
		t.Fatal("Report: ok false")
	}
	pkts := parseReport(t, pkt)
	if len(pkts) != 2 {
		t.Fatalf("got %d packets, want SR + SDES", len(pkts))
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("first packet is %T", pkts[0])
	}
	want := rtcp.SenderReport{
		SSRC: testSSRC, NTPTime: 0xeb6d7540_80000000, RTPTime: 49600,
		PacketCount: 3, OctetCount: 2200,
	}
	if sr.SSRC != want.SSRC || sr.NTPTime != want.NTPTime || sr.RTPTime != want.RTPTime ||
		sr.PacketCount != want.PacketCount || sr.OctetCount != want.OctetCount || len(sr.Reports) != 0 {
		t.Errorf("SR\n got %+v\nwant %+v", *sr, want)
	}
	sdes, ok := pkts[1].(*rtcp.SourceDescription)
	if !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Source != testSSRC {
		t.Errorf("SDES = %+v", pkts[1])
	}
	if p, o := s.Counts(); p != 3 || o != 2200 {
		t.Errorf("Counts = %d, %d", p, o)
	}
}

func TestReportRTPTime(t *testing.T) {
	for _, c := range []struct {
		name    string
		rate    uint32
		rtp     uint32
		capture time.Duration
		mono    time.Duration
		wantRTP uint32
	}{
		{"same instant", 90000, 1234, 5 * time.Second, 5 * time.Second, 1234},
		{"wraps", 90000, 0xffffff00, time.Second, 2 * time.Second, 0x15e90},
		{"audio 8k", 8000, 0, 0, 20 * time.Millisecond, 160},
		{"audio 48k", 48000, 100, time.Second, time.Second + time.Millisecond, 148},
		{"sub-tick truncated", 90000, 0, 0, 11110 * time.Nanosecond, 0},
		{"30 hours idle", 90000, 1000, time.Hour, 31 * time.Hour, 0x435b71e8},
		{"clock before capture", 90000, 90000, 2 * time.Second, time.Second, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSender(testSSRC, c.rate, testCNAME)
			s.OnPacket(c.rtp, c.capture, 100)
			pkt, _ := s.Report(testWall, c.mono)
			sr := parseReport(t, pkt)[0].(*rtcp.SenderReport)
			if sr.RTPTime != c.wantRTP {
				t.Errorf("RTPTime = %#x, want %#x", sr.RTPTime, c.wantRTP)
			}
		})
	}
}

func TestReportBufferReuse(t *testing.T) {
	s := NewSender(testSSRC, 90000, testCNAME)
	s.OnPacket(0, 0, 10)
	a, _ := s.Report(testWall, 0)
	first := bytes.Clone(a)
	b, _ := s.Report(testWall.Add(time.Second), time.Second)
	if &a[0] != &b[0] {
		t.Error("Report did not reuse its buffer")
	}
	got, ok := s.AppendReport([]byte("x"), testWall, 0)
	if !ok || got[0] != 'x' || !bytes.Equal(got[1:], first) {
		t.Errorf("AppendReport = %x, want x + %x", got, first)
	}
}

func TestBye(t *testing.T) {
	t.Run("after packets", func(t *testing.T) {
		s := NewSender(testSSRC, 90000, testCNAME)
		s.OnPacket(10, time.Second, 100)
		pkts := parseReport(t, s.Bye(testWall, 2*time.Second))
		if len(pkts) != 3 {
			t.Fatalf("got %d packets, want SR, SDES, BYE", len(pkts))
		}
		if sr, ok := pkts[0].(*rtcp.SenderReport); !ok || sr.RTPTime != 90010 || sr.PacketCount != 1 {
			t.Errorf("first packet = %+v", pkts[0])
		}
		if bye, ok := pkts[2].(*rtcp.Goodbye); !ok || len(bye.Sources) != 1 || bye.Sources[0] != testSSRC {
			t.Errorf("last packet = %+v", pkts[2])
		}
	})
	t.Run("nothing sent", func(t *testing.T) {
		s := NewSender(testSSRC, 90000, testCNAME)
		pkts := parseReport(t, s.Bye(testWall, time.Second))
		if len(pkts) != 3 {
			t.Fatalf("got %d packets, want RR, SDES, BYE", len(pkts))
		}
		if rr, ok := pkts[0].(*rtcp.ReceiverReport); !ok || rr.SSRC != testSSRC || len(rr.Reports) != 0 {
			t.Errorf("first packet = %+v", pkts[0])
		}
		if _, ok := pkts[2].(*rtcp.Goodbye); !ok {
			t.Errorf("last packet = %T", pkts[2])
		}
	})
}

func TestLongCNAMETruncated(t *testing.T) {
	long := bytes.Repeat([]byte("c"), 300)
	s := NewSender(testSSRC, 90000, string(long))
	s.OnPacket(0, 0, 1)
	pkt, _ := s.Report(testWall, 0)
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		t.Fatal(err)
	}
	cname, err := rtcp.CompoundPacket(pkts).CNAME()
	if err != nil || cname != string(long[:255]) {
		t.Errorf("CNAME of %d bytes, %v; want 255 bytes", len(cname), err)
	}
}

func TestZeroClockRatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewSender with clock rate 0 did not panic")
		}
	}()
	NewSender(testSSRC, 0, testCNAME)
}

// TestConcurrentUse exercises the three goroutines of a session under the
// race detector.
func TestConcurrentUse(t *testing.T) {
	s := NewSender(testSSRC, 90000, testCNAME)
	rr := marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{SSRC: testSSRC, LastSenderReport: testLSR}}})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			s.OnPacket(uint32(i*3000), time.Duration(i)*33*time.Millisecond, 1000)
		}
	})
	wg.Go(func() {
		for i := range 100 {
			s.Report(testWall.Add(time.Duration(i)*time.Second), time.Duration(i)*time.Second)
		}
	})
	wg.Go(func() {
		for range 100 {
			if _, err := s.Receive(rr, testArrival); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if p, o := s.Counts(); p != 1000 || o != 1000*1000 {
		t.Errorf("Counts = %d, %d", p, o)
	}
}
