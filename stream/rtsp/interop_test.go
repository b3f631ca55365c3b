package rtsp

import (
	"bytes"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
)

// TestGortsplibClientAuth runs gortsplib's client-side credential code
// against our challenges, sends the request through gortsplib's encoder and
// our Reader, and checks it with our Authenticator.
func TestGortsplibClientAuth(t *testing.T) {
	for _, tc := range []struct {
		method   string
		offerQop bool
	}{{AuthDigest, false}, {AuthDigest, true}, {AuthBasic, false}} {
		a, _ := newTestAuth(tc.method)
		a.OfferQop = tc.offerQop
		for _, stale := range []bool{false, true} {
			ch := a.Challenge()
			if stale {
				ch = a.StaleChallenge()
			}
			s := &auth.Sender{WWWAuth: base.HeaderValue{ch}, User: "admin", Pass: "secret"}
			if err := s.Initialize(); err != nil {
				t.Fatalf("%s: gortsplib rejects challenge: %v", ch, err)
			}
			u, err := base.ParseURL("rtsp://127.0.0.1:8554/live")
			if err != nil {
				t.Fatal(err)
			}
			req := &base.Request{Method: base.Describe, URL: u, Header: base.Header{"CSeq": base.HeaderValue{"2"}}}
			s.AddAuthorization(req)
			wire, err := req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewReader(bytes.NewReader(wire), Limits{}).ReadRequest()
			if err != nil {
				t.Fatalf("reading gortsplib request %q: %v", wire, err)
			}
			if err := a.Check(got.Method, got.Header.Get("Authorization"), "127.0.0.1"); err != nil {
				t.Errorf("%s (challenge %q): %v", tc.method, ch, err)
			}
			// Wrong password through the same path.
			s = &auth.Sender{WWWAuth: base.HeaderValue{ch}, User: "admin", Pass: "nope"}
			_ = s.Initialize()
			s.AddAuthorization(req)
			if err := a.Check("DESCRIBE", req.Header["Authorization"][0], "127.0.0.2"); err == nil {
				t.Errorf("%s: wrong password accepted", tc.method)
			}
		}
	}
}

// TestGortsplibParsesTransport checks that gortsplib's client parses our
// reply Transport headers to the same values.
func TestGortsplibParsesTransport(t *testing.T) {
	for _, tc := range transportCases {
		if tc.wantErr {
			continue
		}
		for _, tr := range tc.want {
			var h headers.Transport
			if err := h.Unmarshal(base.HeaderValue{tr.String()}); err != nil {
				t.Errorf("gortsplib cannot parse %q: %v", tr.String(), err)
				continue
			}
			if tr.HasInterleaved && (h.InterleavedIDs == nil || *h.InterleavedIDs != tr.Interleaved) {
				t.Errorf("%q: interleaved %v", tr.String(), h.InterleavedIDs)
			}
			if tr.ClientPorts[0] != 0 && (h.ClientPorts == nil || *h.ClientPorts != tr.ClientPorts) {
				t.Errorf("%q: client ports %v", tr.String(), h.ClientPorts)
			}
			if tr.ServerPorts[0] != 0 && (h.ServerPorts == nil || *h.ServerPorts != tr.ServerPorts) {
				t.Errorf("%q: server ports %v", tr.String(), h.ServerPorts)
			}
			if tr.HasSSRC && (h.SSRC == nil || *h.SSRC != tr.SSRC) {
				t.Errorf("%q: ssrc %v", tr.String(), h.SSRC)
			}
			if tr.TTL != 0 && (h.TTL == nil || *h.TTL != uint(tr.TTL)) {
				t.Errorf("%q: ttl %v", tr.String(), h.TTL)
			}
		}
	}
}
