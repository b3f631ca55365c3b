package report

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// Fixtures shared by the receive tests and the fuzz target.
const (
	testSSRC  = 0x4a3b2c1d
	otherSSRC = 0x01020304
	peerSSRC  = 0xdeadbeef
	testCNAME = "camagent@pi"
)

var (
	// testWall is when the test sender sent its only SR. Its NTP time is
	// 0xeb6d7540_80000000, so the SR's middle 32 bits (the LSR a receiver
	// echoes) are 0x75408000.
	testWall    = time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	testLSR     = uint32(0x75408000)
	testArrival = testWall.Add(1500 * time.Millisecond)
)

// newTestSender returns a sender that has sent one packet and one SR at
// testWall.
func newTestSender(t testing.TB) *Sender {
	s := NewSender(testSSRC, 90000, testCNAME)
	s.OnPacket(1000, 10*time.Second, 1200)
	if _, ok := s.Report(testWall, 10*time.Second); !ok {
		t.Fatal("Report: ok false after a packet")
	}
	return s
}

// wire is a tiny big-endian builder for hand-written packets.
type wire []byte

func (w wire) u8(v ...byte) wire { return append(w, v...) }
func (w wire) u16(v uint16) wire { return binary.BigEndian.AppendUint16(w, v) }
func (w wire) u32(v uint32) wire { return binary.BigEndian.AppendUint32(w, v) }
func (w wire) str(s string) wire { return append(w, s...) }
func (w wire) pad4() wire        { return append(w, make([]byte, (4-len(w)%4)%4)...) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func marshal(t testing.TB, pkts ...rtcp.Packet) []byte {
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ffmpegRR is laid out the way ffmpeg's RTSP client writes its receiver
// report: RR with one block, then SDES with a CNAME of the host name, the
// chunk's item list ended by a zero byte and padded to 32 bits. ffmpeg uses
// the media SSRC + 1 as its own SSRC.
func ffmpegRR(fraction byte, lost uint32, highest, jitter, lsr, dlsr uint32) []byte {
	rr := wire{}.u8(0x81, 201).u16(7).
		u32(testSSRC + 1).
		u32(testSSRC).u32(uint32(fraction)<<24 | lost&0xffffff).u32(highest).u32(jitter).u32(lsr).u32(dlsr)
	host := "raspberrypi"
	chunk := wire{}.u32(testSSRC+1).u8(1, byte(len(host))).str(host).u8(0).pad4()
	sdes := wire{}.u8(0x81, 202).u16(uint16(len(chunk) / 4)).str(string(chunk))
	return cat(rr, sdes)
}

type receiveCase struct {
	name    string
	pkt     []byte
	want    Intake
	wantErr bool
}

// receiveCases feeds TestReceive and the seeds of FuzzReceive.
func receiveCases(t testing.TB) []receiveCase {
	block := func(ssrc uint32) rtcp.ReceptionReport {
		return rtcp.ReceptionReport{
			SSRC: ssrc, FractionLost: 64, TotalLost: 5, LastSequenceNumber: 0x0001_0010,
			Jitter: 900, LastSenderReport: testLSR, Delay: 65536,
		}
	}
	wantBlock := ReceiverReport{
		SSRC: peerSSRC, FractionLost: 0.25, TotalLost: 5, HighestSeq: 0x0001_0010,
		Jitter: 10 * time.Millisecond, RTT: 500 * time.Millisecond, At: testArrival,
	}
	// GStreamer's rtpsession sends RR + SDES with a CNAME and a TOOL item.
	gstSDES := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: peerSSRC,
		Items: []rtcp.SourceDescriptionItem{
			{Type: rtcp.SDESCNAME, Text: "user1000@viewer-host"},
			{Type: rtcp.SDESTool, Text: "GStreamer"},
		},
	}}}
	gst := marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{block(testSSRC)}}, gstSDES)
	ffmpeg := ffmpegRR(0, 0, 0x0000_2000, 4500, testLSR, 32768)

	negLost := block(testSSRC)
	negLost.TotalLost = 0xfffffe
	negLost.FractionLost = 255
	noLSR := block(testSSRC)
	noLSR.LastSenderReport, noLSR.Delay = 0, 0
	strangeLSR := block(testSSRC)
	strangeLSR.LastSenderReport = testLSR - 0x10000
	withRTT := func(r ReceiverReport, rtt time.Duration) ReceiverReport { r.RTT = rtt; return r }

	badPLI := wire{}.u8(0x81, 206).u16(1).u32(peerSSRC) // length 1: no media SSRC
	bye := marshal(t, &rtcp.Goodbye{Sources: []uint32{peerSSRC}, Reason: "teardown"})
	app := wire{}.u8(0x80, 204).u16(2).u32(peerSSRC).str("CAMx")

	return []receiveCase{
		{name: "gstreamer rr+sdes", pkt: gst, want: Intake{Reports: []ReceiverReport{wantBlock}}},
		{name: "ffmpeg rr+sdes", pkt: ffmpeg, want: Intake{Reports: []ReceiverReport{{
			SSRC: testSSRC + 1, HighestSeq: 0x2000, Jitter: 50 * time.Millisecond,
			RTT: time.Second, At: testArrival,
		}}}},
		{name: "other ssrc ignored", pkt: marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC,
			Reports: []rtcp.ReceptionReport{block(otherSSRC)}})},
		{name: "two blocks negative loss", pkt: marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC,
			Reports: []rtcp.ReceptionReport{block(otherSSRC), negLost}}),
			want: Intake{Reports: []ReceiverReport{{
				SSRC: peerSSRC, FractionLost: 255.0 / 256, TotalLost: -2, HighestSeq: 0x0001_0010,
				Jitter: 10 * time.Millisecond, RTT: 500 * time.Millisecond, At: testArrival,
			}}}},
		{name: "no sr yet", pkt: marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{noLSR}}),
			want: Intake{Reports: []ReceiverReport{withRTT(wantBlock, 0)}}},
		{name: "lsr not ours", pkt: marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{strangeLSR}}),
			want: Intake{Reports: []ReceiverReport{withRTT(wantBlock, 0)}}},
		{name: "sr with block", pkt: marshal(t, &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: 1, RTPTime: 2,
			Reports: []rtcp.ReceptionReport{block(testSSRC)}}),
			want: Intake{Reports: []ReceiverReport{wantBlock}}},
		{name: "pli", pkt: marshal(t, &rtcp.PictureLossIndication{SenderSSRC: peerSSRC, MediaSSRC: testSSRC}),
			want: Intake{PLI: true}},
		{name: "pli other ssrc", pkt: marshal(t, &rtcp.PictureLossIndication{SenderSSRC: peerSSRC, MediaSSRC: otherSSRC})},
		{name: "fir", pkt: marshal(t, &rtcp.FullIntraRequest{SenderSSRC: peerSSRC,
			FIR: []rtcp.FIREntry{{SSRC: otherSSRC, SequenceNumber: 9}, {SSRC: testSSRC, SequenceNumber: 1}}}),
			want: Intake{FIR: true}},
		{name: "nack", pkt: marshal(t, &rtcp.TransportLayerNack{SenderSSRC: peerSSRC, MediaSSRC: testSSRC,
			Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0b101}, {PacketID: 300}}}),
			want: Intake{NACKs: 4}},
		{name: "rr+sdes+bye", pkt: cat(gst[:32], bye), want: Intake{Reports: []ReceiverReport{wantBlock}, Bye: true}},
		{name: "app ignored", pkt: cat(marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC}), app)},
		{name: "bad pli between good packets", pkt: cat(gst, badPLI, bye),
			want: Intake{Reports: []ReceiverReport{wantBlock}, Bye: true}, wantErr: true},
		{name: "truncated rr", pkt: gst[:20], wantErr: true},
		{name: "truncated ffmpeg", pkt: ffmpeg[:len(ffmpeg)-3], wantErr: true},
		{name: "truncated header", pkt: gst[:3], wantErr: true},
		{name: "empty", pkt: nil, wantErr: true},
		{name: "bad version", pkt: cat([]byte{0x41}, gst[1:]), wantErr: true},
		{name: "rr count beyond length", pkt: wire{}.u8(0x82, 201).u16(7).str(string(gst[4:32])), wantErr: true},
	}
}

func TestReceive(t *testing.T) {
	for _, c := range receiveCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := newTestSender(t)
			got, err := s.Receive(c.pkt, testArrival)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("intake\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestReceiveLimits(t *testing.T) {
	s := newTestSender(t)
	if _, err := s.Receive(make([]byte, MaxPacketSize+1), testArrival); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err = %v, want ErrTooLarge", err)
	}
	pli := marshal(t, &rtcp.PictureLossIndication{SenderSSRC: peerSSRC, MediaSSRC: testSSRC})
	var many []byte
	for range maxSubPackets + 1 {
		many = append(many, pli...)
	}
	in, err := s.Receive(many, testArrival)
	if !errors.Is(err, ErrTooManyPackets) || !in.PLI {
		t.Errorf("many packets: intake %+v, err %v", in, err)
	}
}

func TestReceiveErrorPrefix(t *testing.T) {
	s := newTestSender(t)
	for _, c := range receiveCases(t) {
		if !c.wantErr {
			continue
		}
		_, err := s.Receive(c.pkt, testArrival)
		if err == nil || err.Error()[:len("report: ")] != "report: " {
			t.Errorf("%s: err %q lacks the report: prefix", c.name, err)
		}
	}
}

func TestFIRRepeatIgnored(t *testing.T) {
	s := newTestSender(t)
	fir := func(seq uint8) []byte {
		return marshal(t, &rtcp.FullIntraRequest{SenderSSRC: peerSSRC, FIR: []rtcp.FIREntry{{SSRC: testSSRC, SequenceNumber: seq}}})
	}
	for i, step := range []struct {
		seq  uint8
		want bool
	}{{1, true}, {1, false}, {2, true}, {2, false}, {1, true}} {
		in, err := s.Receive(fir(step.seq), testArrival)
		if err != nil {
			t.Fatal(err)
		}
		if in.FIR != step.want {
			t.Errorf("step %d (seq %d): FIR = %v, want %v", i, step.seq, in.FIR, step.want)
		}
	}
}

func TestRTTForgetsOldSRs(t *testing.T) {
	s := newTestSender(t)
	rr := func() []byte {
		return marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{
			SSRC: testSSRC, LastSenderReport: testLSR, Delay: 65536,
		}}})
	}
	for i := 1; i < sentSRs; i++ {
		s.Report(testWall.Add(time.Duration(i)*5*time.Second), 10*time.Second)
	}
	in, _ := s.Receive(rr(), testArrival)
	if got := in.Reports[0].RTT; got != 500*time.Millisecond {
		t.Fatalf("RTT with SR %d reports ago = %v, want 500ms", sentSRs-1, got)
	}
	s.Report(testWall.Add(time.Hour), 10*time.Second)
	in, _ = s.Receive(rr(), testArrival)
	if got := in.Reports[0].RTT; got != 0 {
		t.Errorf("RTT with forgotten SR = %v, want 0", got)
	}
}

func TestRTTNegativeIsUnknown(t *testing.T) {
	s := newTestSender(t)
	// DLSR of 2 s but the RR arrives 1.5 s after the SR: clocks stepped.
	pkt := marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{
		SSRC: testSSRC, LastSenderReport: testLSR, Delay: 2 * 65536,
	}}})
	in, err := s.Receive(pkt, testArrival)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Reports[0].RTT; got != 0 {
		t.Errorf("RTT = %v, want 0", got)
	}
}

func TestJitterClockRates(t *testing.T) {
	for _, c := range []struct {
		rate   uint32
		jitter uint32
		want   time.Duration
	}{
		{90000, 90, time.Millisecond},
		{90000, 1, 11111 * time.Nanosecond},
		{8000, 160, 20 * time.Millisecond},
		{48000, 0xffffffff, 89478485312500 * time.Nanosecond},
	} {
		s := NewSender(testSSRC, c.rate, testCNAME)
		pkt := marshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{SSRC: testSSRC, Jitter: c.jitter}}})
		in, err := s.Receive(pkt, testArrival)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.Reports[0].Jitter; got != c.want {
			t.Errorf("rate %d jitter %d: got %v, want %v", c.rate, c.jitter, got, c.want)
		}
	}
}

func TestSigned24(t *testing.T) {
	for in, want := range map[uint32]int32{
		0: 0, 1: 1, 0x7fffff: 0x7fffff, 0x800000: -0x800000, 0xffffff: -1, 0xfffffe: -2, 0x1000005: 5,
	} {
		if got := signed24(in); got != want {
			t.Errorf("signed24(%#x) = %d, want %d", in, got, want)
		}
	}
}

func FuzzReceive(f *testing.F) {
	for _, c := range receiveCases(f) {
		f.Add(c.pkt)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestSender(t)
		in, _ := s.Receive(data, testArrival)
		for _, r := range in.Reports {
			if r.FractionLost < 0 || r.FractionLost >= 1 {
				t.Errorf("FractionLost %v out of [0,1)", r.FractionLost)
			}
			if r.RTT < 0 || r.Jitter < 0 {
				t.Errorf("negative RTT %v or jitter %v", r.RTT, r.Jitter)
			}
			if !r.At.Equal(testArrival) {
				t.Errorf("At = %v", r.At)
			}
		}
		if in.NACKs < 0 || len(in.Reports) > len(data)/24 {
			t.Errorf("implausible intake %+v from %d bytes", in, len(data))
		}
	})
}
