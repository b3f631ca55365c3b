package rtsp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadTransport is returned by ParseTransport; it is wrapped with detail.
// A server answers 461 Unsupported Transport.
var ErrBadTransport = errors.New("rtsp: bad Transport header")

// Transport modes (the mode parameter).
const (
	ModePlay   = "PLAY"
	ModeRecord = "RECORD"
)

// Transport is one alternative of a Transport header (RFC 2326 §12.39).
// Port pairs are RTP then RTCP; a single port p in the header means p,p+1.
// Zero ports mean "absent".
type Transport struct {
	// Profile is "transport/profile[/lower-transport]" in upper case, as
	// received: "RTP/AVP", "RTP/AVP/UDP" or "RTP/AVP/TCP" (RTP/AVPF, RTP/SAVP
	// and RTP/SAVPF are accepted too).
	Profile   string
	Multicast bool // unicast when false

	Destination string // destination=, multicast group or unicast client address
	Source      string // source=

	HasInterleaved bool
	Interleaved    [2]int // interleaved= channels (0-255)

	Port        [2]int // port= (multicast)
	TTL         int    // ttl=; 0 means absent
	ClientPorts [2]int // client_port=
	ServerPorts [2]int // server_port=

	HasSSRC bool
	SSRC    uint32 // ssrc=, hexadecimal on the wire

	Mode string // ModePlay (default) or ModeRecord, upper case
}

// TCP reports whether the lower transport is TCP (RTP/AVP/TCP), that is,
// interleaved on the RTSP connection.
func (t Transport) TCP() bool { return strings.HasSuffix(t.Profile, "/TCP") }

// ParseTransport parses a Transport header value: comma-separated
// alternatives in the client's order of preference. Unknown parameters are
// ignored. Alternatives that are not RTP, or are malformed, are skipped; an
// error is returned only when none is usable.
func ParseTransport(s string) ([]Transport, error) {
	if len(s) > 4096 {
		return nil, fmt.Errorf("%w: too long", ErrBadTransport)
	}
	var out []Transport
	var firstErr error
	for alt := range strings.SplitSeq(s, ",") {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			continue
		}
		t, err := parseTransportAlt(alt)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("%w: empty", ErrBadTransport)
		}
		return nil, firstErr
	}
	return out, nil
}

func parseTransportAlt(s string) (Transport, error) {
	t := Transport{Mode: ModePlay}
	spec, params, _ := strings.Cut(s, ";")
	spec = strings.ToUpper(strings.TrimSpace(spec))
	if !validProfile(spec) {
		return t, fmt.Errorf("%w: profile %.32q", ErrBadTransport, spec)
	}
	t.Profile = spec
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, val, hasVal := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		var err error
		switch name {
		case "unicast":
			t.Multicast = false
		case "multicast":
			t.Multicast = true
		case "destination":
			if hasVal { // a bare "destination" means the client itself
				t.Destination, err = transportAddr(val)
			}
		case "source":
			t.Source, err = transportAddr(val)
		case "interleaved":
			t.Interleaved, err = parseRange(val, 255)
			t.HasInterleaved = err == nil
		case "port":
			t.Port, err = parsePortRange(val)
		case "client_port":
			t.ClientPorts, err = parsePortRange(val)
		case "server_port":
			t.ServerPorts, err = parsePortRange(val)
		case "ttl":
			t.TTL, err = parseDecimal(val, 255)
		case "ssrc":
			t.SSRC, err = parseSSRC(val)
			t.HasSSRC = err == nil
		case "mode":
			t.Mode, err = parseMode(val)
		}
		if err != nil {
			return t, fmt.Errorf("%w: %s: %w", ErrBadTransport, name, err)
		}
	}
	return t, nil
}

func validProfile(s string) bool {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "RTP" {
		return false
	}
	switch parts[1] {
	case "AVP", "AVPF", "SAVP", "SAVPF":
	default:
		return false
	}
	return len(parts) == 2 || parts[2] == "UDP" || parts[2] == "TCP"
}

var errValue = errors.New("bad value")

func transportAddr(v string) (string, error) {
	if v == "" || len(v) > 255 {
		return "", errValue
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ';' || c == ',' {
			return "", errValue
		}
	}
	return v, nil
}

func parseDecimal(s string, maxVal int) (int, error) {
	if s == "" || len(s) > 6 {
		return 0, errValue
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errValue
		}
		n = n*10 + int(c-'0')
	}
	if n > maxVal {
		return 0, errValue
	}
	return n, nil
}

// parseRange parses "a" or "a-b" with 0 <= a,b <= maxVal; "a" means a,a+1.
func parseRange(s string, maxVal int) ([2]int, error) {
	lo, hi, pair := strings.Cut(s, "-")
	a, err := parseDecimal(lo, maxVal)
	if err != nil {
		return [2]int{}, err
	}
	if !pair {
		if a+1 > maxVal {
			return [2]int{}, errValue
		}
		return [2]int{a, a + 1}, nil
	}
	b, err := parseDecimal(hi, maxVal)
	if err != nil {
		return [2]int{}, err
	}
	if b < a {
		return [2]int{}, errValue // a range runs low to high
	}
	return [2]int{a, b}, nil
}

func parsePortRange(s string) ([2]int, error) {
	r, err := parseRange(s, 65535)
	if err == nil && (r[0] == 0 || r[1] == 0) {
		err = errValue
	}
	return r, err
}

func parseSSRC(s string) (uint32, error) {
	if s == "" || len(s) > 8 {
		return 0, errValue
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, errValue
	}
	return uint32(v), nil
}

func parseMode(s string) (string, error) {
	switch strings.ToUpper(s) {
	case ModePlay:
		return ModePlay, nil
	case ModeRecord, "RECEIVE": // "receive" is an RFC 2326 synonym
		return ModeRecord, nil
	}
	return "", errValue
}

// String formats t as a Transport header value in the order clients expect,
// e.g. "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D",
// "RTP/AVP/TCP;unicast;interleaved=0-1" or
// "RTP/AVP;multicast;destination=239.1.2.3;port=5004-5005;ttl=16".
// Mode is written only when it is not PLAY.
func (t Transport) String() string {
	b := make([]byte, 0, 96)
	b = t.AppendTo(b)
	return string(b)
}

// AppendTo appends the String form of t to b.
func (t Transport) AppendTo(b []byte) []byte {
	profile := t.Profile
	if profile == "" {
		profile = "RTP/AVP"
	}
	b = append(b, profile...)
	if t.Multicast {
		b = append(b, ";multicast"...)
	} else {
		b = append(b, ";unicast"...)
	}
	if t.Destination != "" {
		b = append(b, ";destination="...)
		b = append(b, t.Destination...)
	}
	if t.Source != "" {
		b = append(b, ";source="...)
		b = append(b, t.Source...)
	}
	if t.HasInterleaved {
		b = appendPair(append(b, ";interleaved="...), t.Interleaved)
	}
	if t.Port[0] != 0 {
		b = appendPair(append(b, ";port="...), t.Port)
	}
	if t.TTL != 0 {
		b = strconv.AppendInt(append(b, ";ttl="...), int64(t.TTL), 10)
	}
	if t.ClientPorts[0] != 0 {
		b = appendPair(append(b, ";client_port="...), t.ClientPorts)
	}
	if t.ServerPorts[0] != 0 {
		b = appendPair(append(b, ";server_port="...), t.ServerPorts)
	}
	if t.HasSSRC {
		b = fmt.Appendf(b, ";ssrc=%08X", t.SSRC)
	}
	if t.Mode != "" && t.Mode != ModePlay {
		b = append(b, ";mode="...)
		b = append(b, t.Mode...)
	}
	return b
}

func appendPair(b []byte, p [2]int) []byte {
	b = strconv.AppendInt(b, int64(p[0]), 10)
	if p[1] != 0 || p[0] == 0 {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(p[1]), 10)
	}
	return b
}
