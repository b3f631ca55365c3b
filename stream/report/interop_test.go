package report_test

import (
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/ntp"
	"github.com/bluenviron/gortsplib/v5/pkg/rtpreceiver"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/camagent/camagent/stream/report"
)

// TestNTPTimeMatchesGortsplib compares NTPTime with another implementation,
// which rounds the fraction where NTPTime truncates.
func TestNTPTimeMatchesGortsplib(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, 1, 999_999_999, 123_456_789, 40 * time.Millisecond, 36 * time.Hour} {
		tm := base.Add(d)
		ours, theirs := report.NTPTime(tm), ntp.Encode(tm)
		if diff := int64(theirs - ours); diff < 0 || diff > 1 {
			t.Errorf("%v: NTPTime %#x, gortsplib %#x", tm, ours, theirs)
		}
	}
}

// TestInteropGortsplibReceiver runs a Sender against gortsplib's RTP
// receiver (what a gortsplib or MediaMTX client runs): our RTP packets and
// SR go in, its RR comes back, and Receive must find the loss and the
// round-trip time the scenario was built with. It also checks that the SR
// maps RTP time to wall-clock time as the capture clock says.
func TestInteropGortsplibReceiver(t *testing.T) {
	const (
		ssrc    = 0x4a3b2c1d
		oneWay  = 5 * time.Millisecond   // network delay each way
		dlsr    = 250 * time.Millisecond // receiver holds the SR this long
		framesN = 10
		lostSeq = 105
	)
	// The wall clock and the capture clock run together, offset.
	wall0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mono0 := 1234 * time.Second
	wallAt := func(mono time.Duration) time.Time { return wall0.Add(mono - mono0) }

	s := report.NewSender(ssrc, 90000, "camagent@test")
	recv := &rtpreceiver.Receiver{ClockRate: 90000, LocalSSRC: 0x99, Period: time.Millisecond}

	var lastCapture time.Duration
	var lastTS uint32
	for i := range framesN {
		capture := mono0 + time.Duration(i)*40*time.Millisecond
		pkt := &rtp.Packet{Header: rtp.Header{
			Version: 2, PayloadType: 96, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(1000 + i*3600), SSRC: ssrc,
		}, Payload: make([]byte, 100)}
		s.OnPacket(pkt.Timestamp, capture, len(pkt.Payload))
		lastCapture, lastTS = capture, pkt.Timestamp
		if pkt.SequenceNumber == lostSeq {
			continue
		}
		if _, _, err := recv.ProcessPacket(pkt, wallAt(capture).Add(oneWay), true); err != nil {
			t.Fatal(err)
		}
	}

	srMono := mono0 + 400*time.Millisecond
	buf, ok := s.Report(wallAt(srMono), srMono)
	if !ok {
		t.Fatal("no report")
	}
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		t.Fatal(err)
	}
	srArrival := wallAt(srMono).Add(oneWay)
	recv.ProcessSenderReport(pkts[0].(*rtcp.SenderReport), srArrival)

	// The receiver places our last frame at its capture time.
	got, ok := recv.PacketNTP(lastTS)
	if want := wallAt(lastCapture); !ok || absDur(got.Sub(want)) > time.Microsecond {
		t.Errorf("receiver maps the last frame to %v, want its capture time %v", got, want)
	}

	// Let the receiver write one RR, at a fixed instant of its clock.
	rrSent := srArrival.Add(dlsr)
	recv.TimeNow = func() time.Time { return rrSent }
	rrs := make(chan rtcp.Packet, 1)
	recv.WritePacketRTCP = func(p rtcp.Packet) {
		select {
		case rrs <- p:
		default:
		}
	}
	if err := recv.Initialize(); err != nil {
		t.Fatal(err)
	}
	var rr rtcp.Packet
	select {
	case rr = <-rrs:
	case <-time.After(10 * time.Second):
		t.Fatal("gortsplib receiver wrote no receiver report")
	}
	recv.Close()
	rrBuf, err := rr.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	in, err := s.Receive(rrBuf, rrSent.Add(oneWay))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Reports) != 1 {
		t.Fatalf("intake %+v, want one report", in)
	}
	r := in.Reports[0]
	if r.SSRC != 0x99 || r.TotalLost != 1 || r.HighestSeq != 100+framesN-1 || r.FractionLost != 25.0/256 {
		t.Errorf("report %+v: want reporter 0x99, 1 lost, highest %d, fraction 25/256", r, 100+framesN-1)
	}
	t.Logf("gortsplib RR as read: %+v", r)
	// 1/65536 s quantization of LSR, DLSR and the arrival time.
	if want := 2 * oneWay; absDur(r.RTT-want) > 50*time.Microsecond {
		t.Errorf("RTT = %v, want %v", r.RTT, want)
	}
	if r.Jitter > time.Millisecond {
		t.Errorf("Jitter = %v with a constant delay", r.Jitter)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
