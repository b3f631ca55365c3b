package rtsp

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseTransport(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTransport(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadTransport) {
					t.Fatalf("err = %v, want ErrBadTransport", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if s := got[0].String(); s != tc.str {
				t.Fatalf("String() = %q, want %q", s, tc.str)
			}
			again, err := ParseTransport(got[0].String())
			if err != nil || !reflect.DeepEqual(again[0], got[0]) {
				t.Fatalf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestTransportString(t *testing.T) {
	cases := []struct {
		t    Transport
		want string
	}{
		{Transport{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: [2]int{0, 1}}, "RTP/AVP/TCP;unicast;interleaved=0-1"},
		{Transport{Profile: "RTP/AVP", ClientPorts: [2]int{5000, 5001}, ServerPorts: [2]int{6970, 6971}, HasSSRC: true, SSRC: 0x1A2B3C4D},
			"RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D"},
		{Transport{Multicast: true, Destination: "239.0.0.1", Port: [2]int{5004, 5005}, TTL: 16}, "RTP/AVP;multicast;destination=239.0.0.1;port=5004-5005;ttl=16"},
		{Transport{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: [2]int{2, 3}, Mode: ModeRecord}, "RTP/AVP/TCP;unicast;interleaved=2-3;mode=RECORD"},
	}
	for _, tc := range cases {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if !(Transport{Profile: "RTP/AVP/TCP"}).TCP() || (Transport{Profile: "RTP/AVP/UDP"}).TCP() {
		t.Error("TCP()")
	}
}

func TestSession(t *testing.T) {
	cases := []struct {
		in      string
		id      string
		timeout int
		err     bool
	}{
		{"5f2a9c3e1b7d4e60", "5f2a9c3e1b7d4e60", 0, false},
		{"5F2A9C3E;timeout=60", "5F2A9C3E", 60, false},
		{" abc ; Timeout = 30 ; x=y", "abc", 30, false},
		{"", "", 0, true},
		{"a b", "", 0, true},
		{"abc;timeout=x", "", 0, true},
	}
	for _, tc := range cases {
		id, to, err := ParseSession(tc.in)
		if (err != nil) != tc.err || id != tc.id || to != tc.timeout {
			t.Errorf("ParseSession(%q) = %q, %d, %v", tc.in, id, to, err)
		}
		if err != nil && !errors.Is(err, ErrBadSession) {
			t.Errorf("err %v is not ErrBadSession", err)
		}
	}
	if s := FormatSession("abc", 60); s != "abc;timeout=60" {
		t.Error(s)
	}
	if s := FormatSession("abc", 0); s != "abc" {
		t.Error(s)
	}
}
