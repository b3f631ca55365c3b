package rtsp

import (
	"bytes"
	"io"
	"testing"
)

// repeatReader serves the same bytes forever without allocating.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkNextInterleaved(b *testing.B) {
	frame := append([]byte{'$', 0, 0x05, 0xdc}, bytes.Repeat([]byte{0x80}, 1500)...)
	rd := NewReader(&repeatReader{data: frame}, Limits{})
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_, f, err := rd.Next()
		if err != nil || f == nil || len(f.Data) != 1500 {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadRequest(b *testing.B) {
	msg := crlf(`SETUP rtsp://127.0.0.1:8554/live/trackID=0 RTSP/1.0
CSeq: 3
User-Agent: GStreamer/1.22.0
Transport: RTP/AVP;unicast;client_port=45678-45679;mode="PLAY",RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"
Date: Mon, 01 Jan 2024 12:00:00 GMT

`)
	rd := NewReader(&repeatReader{data: []byte(msg)}, Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rd.ReadRequest(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTransport(b *testing.B) {
	const s = `RTP/AVP;unicast;client_port=45678-45679;mode="PLAY",RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTransport(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseWrite(b *testing.B) {
	r := Response{StatusCode: 200, Header: Header{
		"CSeq":      {"3"},
		"Session":   {"5f2a9c3e1b7d4e60;timeout=60"},
		"Transport": {"RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D"},
	}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = r.AppendTo(buf[:0]); err != nil {
			b.Fatal(err)
		}
		_, _ = io.Discard.Write(buf)
	}
}

func BenchmarkCheckDigest(b *testing.B) {
	a, _ := newTestAuth(AuthDigest)
	nonce := nonceOf(b, a.Challenge())
	h := live555Header("admin", "secret", "camagent", nonce, "PLAY", "rtsp://127.0.0.1:8554/live")
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check("PLAY", h, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}
