package rtsp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var errUnexpectedEOF = io.ErrUnexpectedEOF

type readEvents struct {
	reqs   []*Request
	frames []uint8
	data   [][]byte
	err    error
	calls  int
}

// readAll calls Next until it fails, checking that every call makes
// progress. It returns what was read.
func readAll(t testing.TB, in []byte, r io.Reader) readEvents {
	rd := NewReader(r, Limits{})
	var ev readEvents
	for {
		ev.calls++
		if ev.calls > len(in)+2 {
			t.Fatalf("Next called %d times on %d bytes: not making progress", ev.calls, len(in))
		}
		req, f, err := rd.Next()
		if err != nil {
			ev.err = err
			return ev
		}
		switch {
		case req != nil && f == nil:
			ev.reqs = append(ev.reqs, req)
		case f != nil && req == nil:
			ev.frames = append(ev.frames, f.Channel)
			ev.data = append(ev.data, bytes.Clone(f.Data))
		default:
			t.Fatalf("Next returned req=%v frame=%v with nil error", req, f)
		}
	}
}

func TestReader(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			// Also read one byte at a time, to exercise partial reads.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				ev := readAll(t, []byte(tc.in), r)
				if tc.wantErr == nil {
					if ev.err != io.EOF {
						t.Fatalf("err = %v, want io.EOF", ev.err)
					}
				} else if !errors.Is(ev.err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", ev.err, tc.wantErr)
				}
				if tc.wantErr == nil || len(tc.want) > 0 {
					if len(ev.reqs) != len(tc.want) {
						t.Fatalf("got %d requests, want %d", len(ev.reqs), len(tc.want))
					}
				}
				for i, w := range tc.want {
					got := ev.reqs[i]
					if got.Method != w.method || got.URL != w.url {
						t.Errorf("req %d: %s %s, want %s %s", i, got.Method, got.URL, w.method, w.url)
					}
					for k, v := range w.header {
						if g := got.Header.Get(k); g != v {
							t.Errorf("req %d: %s = %q, want %q", i, k, g, v)
						}
					}
					if string(got.Body) != w.body {
						t.Errorf("req %d: body %q, want %q", i, got.Body, w.body)
					}
				}
				if !bytes.Equal(ev.frames, tc.frames) {
					t.Errorf("frames %v, want %v", ev.frames, tc.frames)
				}
			}
		})
	}
}

func TestReaderFrameData(t *testing.T) {
	in := "$\x01\x00\x03abc" + "$\x00\x00\x00" + crlf("OPTIONS * RTSP/1.0\nCSeq: 1\n\n") + "$\x02\x00\x02xy"
	ev := readAll(t, []byte(in), strings.NewReader(in))
	if ev.err != io.EOF {
		t.Fatal(ev.err)
	}
	want := []string{"abc", "", "xy"}
	if len(ev.data) != len(want) {
		t.Fatalf("got %d frames", len(ev.data))
	}
	for i, w := range want {
		if string(ev.data[i]) != w {
			t.Errorf("frame %d = %q, want %q", i, ev.data[i], w)
		}
	}
	if !bytes.Equal(ev.frames, []uint8{1, 0, 2}) {
		t.Errorf("channels %v", ev.frames)
	}
}

func TestReadRequestSkipsFrames(t *testing.T) {
	in := "$\x01\x00\x03abc" + crlf("OPTIONS * RTSP/1.0\nCSeq: 9\n\n")
	rd := NewReader(strings.NewReader(in), Limits{})
	req, err := rd.ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("cseq") != "9" {
		t.Fatalf("CSeq = %q", req.Header.Get("CSeq"))
	}
	if _, err := rd.ReadRequest(); err != io.EOF {
		t.Fatalf("err = %v, want EOF", err)
	}
}

func TestReaderUsesGivenBufio(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader(crlf("OPTIONS * RTSP/1.0\nCSeq: 1\n\n")), 16)
	if _, err := br.Peek(1); err != nil { // bytes already buffered must not be lost
		t.Fatal(err)
	}
	req, err := NewReader(br, Limits{}).ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "OPTIONS" || req.Header.Get("CSeq") != "1" {
		t.Fatalf("%+v", req)
	}
}

func TestReaderLimits(t *testing.T) {
	lim := Limits{MaxLineBytes: 32, MaxHeaderBytes: 64, MaxHeaders: 2, MaxBodyBytes: 4}
	cases := []struct {
		in   string
		want error
	}{
		{crlf("OPTIONS * RTSP/1.0\nA: 1\nB: 2\n\n"), nil},
		{crlf("OPTIONS * RTSP/1.0\nA: 1\nB: 2\nC: 3\n\n"), ErrHeaderTooLarge},
		{crlf("OPTIONS * RTSP/1.0\nA: 0123456789012345678901234567890\n\n"), ErrLineTooLong},
		{crlf("OPTIONS * RTSP/1.0\nA: 012345678901234567890123456\nB: 012345678901234567890123456\n\n"), ErrHeaderTooLarge},
		{crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 4\n\nabcd"), nil},
		{crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 5\n\nabcde"), ErrBodyTooLarge},
	}
	for i, tc := range cases {
		_, err := NewReader(strings.NewReader(tc.in), lim).ReadRequest()
		if !errors.Is(err, tc.want) {
			t.Errorf("case %d: err = %v, want %v", i, err, tc.want)
		}
	}
}

func TestStatusForError(t *testing.T) {
	cases := map[error]int{
		ErrLineTooLong:        414,
		ErrHeaderTooLarge:     400,
		ErrBodyTooLarge:       413,
		ErrUnsupportedVersion: 505,
		io.EOF:                0,
	}
	for err, want := range cases {
		if got := StatusForError(err); got != want {
			t.Errorf("%v: %d, want %d", err, got, want)
		}
	}
	_, err := NewReader(strings.NewReader("X Y Z\r\n\r\n"), Limits{}).ReadRequest()
	if StatusForError(err) != 505 {
		t.Errorf("%v: %d", err, StatusForError(err))
	}
}

func TestRequestParseURL(t *testing.T) {
	r := &Request{URL: "rtsp://user:pw@cam.local:8554/live/trackID=1?x=1"}
	u, err := r.ParseURL()
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "rtsp" || u.Host != "cam.local:8554" || u.Path != "/live/trackID=1" || u.User.Username() != "user" {
		t.Fatalf("%#v", u)
	}
	if _, err := (&Request{URL: "rtsp://[::1"}).ParseURL(); err == nil {
		t.Fatal("want error")
	}
}
