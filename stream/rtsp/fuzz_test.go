package rtsp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"
)

func FuzzReadRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// readAll fails the test if Next does not make progress.
		ev := readAll(t, in, bytes.NewReader(in))
		if ev.err == nil {
			t.Fatal("readAll ended without an error")
		}
		known := []error{io.EOF, io.ErrUnexpectedEOF, ErrLineTooLong, ErrHeaderTooLarge, ErrBodyTooLarge, ErrBadRequest, ErrUnsupportedVersion}
		ok := false
		for _, k := range known {
			ok = ok || errors.Is(ev.err, k)
		}
		if !ok {
			t.Fatalf("unexpected error type: %v", ev.err)
		}
		for _, r := range ev.reqs {
			if r.Method == "" || r.URL == "" || r.Header == nil {
				t.Fatalf("incomplete request %+v", r)
			}
		}
	})
}

func FuzzParseTransport(f *testing.F) {
	for _, tc := range transportCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTransport(in)
		if err != nil {
			if !errors.Is(err, ErrBadTransport) || ts != nil {
				t.Fatalf("%v, %v", ts, err)
			}
			return
		}
		for _, tr := range ts {
			s := tr.String()
			again, err := ParseTransport(s)
			if err != nil || len(again) != 1 {
				t.Fatalf("%q -> %q does not parse: %v", in, s, err)
			}
			if !reflect.DeepEqual(again[0], tr) {
				t.Fatalf("%q -> %q: %+v != %+v", in, s, again[0], tr)
			}
			if s2 := again[0].String(); s2 != s {
				t.Fatalf("unstable: %q != %q", s2, s)
			}
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	for _, tc := range authorizationCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		scheme, params, err := ParseAuthorization(in)
		if err != nil {
			if !errors.Is(err, ErrBadAuthorization) {
				t.Fatal(err)
			}
			return
		}
		if scheme == "" || params == nil || len(params) > maxAuthorizationParams {
			t.Fatalf("%q: %q %v", in, scheme, params)
		}
	})
}

func FuzzCheck(f *testing.F) {
	for _, tc := range authorizationCases {
		f.Add("DESCRIBE", tc.in)
	}
	f.Add("DESCRIBE", `Digest username="admin", realm="camagent", nonce="0123456789abcdef", uri="rtsp://127.0.0.1:8554/live", response="ac2cf52be832fc6f836fe5d94af19899"`)
	f.Add("OPTIONS", "Basic YWRtaW46c2VjcmV0")
	f.Fuzz(func(t *testing.T, method, header string) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		for _, m := range []string{AuthDigest, AuthBasic} {
			a := &Authenticator{User: "admin", Pass: "secret", Method: m, Now: clk.Now, Secret: []byte("k")}
			err := a.Check(method, header, "192.0.2.1")
			switch {
			case err == nil:
				// Only the real Basic credentials can pass without a nonce of ours.
				if m != AuthBasic {
					t.Fatalf("digest accepted %q", header)
				}
			case errors.Is(err, ErrNoCredentials), errors.Is(err, ErrBadCredentials),
				errors.Is(err, ErrStaleNonce), errors.Is(err, ErrTooManyAttempts):
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
