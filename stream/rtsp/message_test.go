package rtsp

import (
	"bytes"
	"errors"
	"testing"
)

func TestCanonicalKey(t *testing.T) {
	for in, want := range map[string]string{
		"cseq": "CSeq", "CSEQ": "CSeq", "CSeq": "CSeq", "www-authenticate": "WWW-Authenticate",
		"rtp-info": "RTP-Info", "content-length": "Content-Length", "Transport": "Transport",
		"x-custom-thing": "X-Custom-Thing",
	} {
		if got := CanonicalKey(in); got != want {
			t.Errorf("CanonicalKey(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { CanonicalKey("CSeq"); CanonicalKey("Transport") }); n != 0 {
		t.Errorf("CanonicalKey of canonical names allocates %v times", n)
	}
}

func TestHeader(t *testing.T) {
	h := Header{}
	h.Set("cseq", "1")
	h.Add("Public", "OPTIONS")
	h.Add("public", "DESCRIBE")
	if h.Get("CSeq") != "1" || h.Get("PUBLIC") != "OPTIONS" || len(h.Values("Public")) != 2 {
		t.Fatalf("%v", h)
	}
	h.Set("public", "PLAY")
	if v := h.Values("Public"); len(v) != 1 || v[0] != "PLAY" {
		t.Fatalf("%v", v)
	}
	h.Del("PUBLIC")
	if h.Get("Public") != "" {
		t.Fatal("Del")
	}
}

func TestResponseWrite(t *testing.T) {
	cases := []struct {
		name string
		resp Response
		want string
		err  error
	}{
		{
			name: "options",
			resp: Response{StatusCode: 200, Header: Header{
				"Public": {"OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"},
				"CSeq":   {"1"},
			}},
			want: "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n\r\n",
		},
		{
			name: "describe with body replaces content-length",
			resp: Response{StatusCode: 200, Header: Header{
				"Content-Type": {"application/sdp"}, "CSeq": {"2"}, "Content-Length": {"999"},
				"Content-Base": {"rtsp://h/live/"},
			}, Body: []byte("v=0\r\n")},
			want: "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://h/live/\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
		},
		{
			name: "unauthorized",
			resp: Response{StatusCode: 401, Header: Header{"CSeq": {"3"}, "WWW-Authenticate": {`Digest realm="camagent", nonce="n", algorithm=MD5`}}},
			want: "RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm=\"camagent\", nonce=\"n\", algorithm=MD5\r\n\r\n",
		},
		{
			name: "rtsp codes",
			resp: Response{StatusCode: 461},
			want: "RTSP/1.0 461 Unsupported Transport\r\n\r\n",
		},
		{
			name: "unknown code",
			resp: Response{StatusCode: 299},
			want: "RTSP/1.0 299 Status 299\r\n\r\n",
		},
		{name: "bad code", resp: Response{StatusCode: 42}, err: ErrBadResponse},
		{name: "header injection", resp: Response{StatusCode: 200, Header: Header{"X": {"a\r\nEvil: 1"}}}, err: ErrBadResponse},
		{name: "bad name", resp: Response{StatusCode: 200, Header: Header{"X Y": {"a"}}}, err: ErrBadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.resp.Write(&buf)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && buf.String() != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestStatusText(t *testing.T) {
	for code, want := range map[int]string{
		200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
		406: "Not Acceptable", 453: "Not Enough Bandwidth", 454: "Session Not Found",
		455: "Method Not Valid in This State", 459: "Aggregate Operation Not Allowed",
		461: "Unsupported Transport", 501: "Not Implemented", 503: "Service Unavailable",
		505: "RTSP Version Not Supported", 999: "",
	} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}
