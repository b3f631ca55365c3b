package rtsp

import "strings"

// crlf turns a readable message with "\n" line ends into the CRLF wire form.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

type wantReq struct {
	method, url string
	header      map[string]string // subset that must match (first value)
	body        string
}

// requestCases feed TestReader and the FuzzReadRequest seeds. Each input is
// read with Next until EOF or error; want lists the requests in order and
// frames the interleaved channels seen.
var requestCases = []struct {
	name    string
	in      string
	want    []wantReq
	frames  []uint8
	wantErr error // nil means clean io.EOF at the end
}{
	{
		name: "ffmpeg udp play",
		in: crlf(`OPTIONS rtsp://192.168.1.10:8554/live RTSP/1.0
CSeq: 1
User-Agent: Lavf60.16.100

DESCRIBE rtsp://192.168.1.10:8554/live RTSP/1.0
Accept: application/sdp
CSeq: 2
User-Agent: Lavf60.16.100

SETUP rtsp://192.168.1.10:8554/live/trackID=0 RTSP/1.0
Transport: RTP/AVP/UDP;unicast;client_port=20000-20001
CSeq: 3
User-Agent: Lavf60.16.100

PLAY rtsp://192.168.1.10:8554/live/ RTSP/1.0
Range: npt=0.000-
CSeq: 4
User-Agent: Lavf60.16.100
Session: 5f2a9c3e1b7d4e60

`),
		want: []wantReq{
			{"OPTIONS", "rtsp://192.168.1.10:8554/live", map[string]string{"CSeq": "1", "User-Agent": "Lavf60.16.100"}, ""},
			{"DESCRIBE", "rtsp://192.168.1.10:8554/live", map[string]string{"CSeq": "2", "Accept": "application/sdp"}, ""},
			{"SETUP", "rtsp://192.168.1.10:8554/live/trackID=0", map[string]string{"Transport": "RTP/AVP/UDP;unicast;client_port=20000-20001"}, ""},
			{"PLAY", "rtsp://192.168.1.10:8554/live/", map[string]string{"Session": "5f2a9c3e1b7d4e60", "Range": "npt=0.000-"}, ""},
		},
	},
	{
		name: "ffmpeg digest describe",
		in: crlf(`DESCRIBE rtsp://127.0.0.1:8554/live RTSP/1.0
Accept: application/sdp
CSeq: 3
User-Agent: Lavf61.7.100
Authorization: Digest username="admin",realm="camagent",nonce="0123456789abcdef",uri="rtsp://127.0.0.1:8554/live",response="ac2cf52be832fc6f836fe5d94af19899",algorithm=MD5

`),
		want: []wantReq{{"DESCRIBE", "rtsp://127.0.0.1:8554/live", map[string]string{
			"Authorization": `Digest username="admin",realm="camagent",nonce="0123456789abcdef",uri="rtsp://127.0.0.1:8554/live",response="ac2cf52be832fc6f836fe5d94af19899",algorithm=MD5`,
		}, ""}},
	},
	{
		name: "ffmpeg publish announce with sdp then tcp record",
		in: crlf(`ANNOUNCE rtsp://127.0.0.1:8554/in RTSP/1.0
Content-Type: application/sdp
CSeq: 2
User-Agent: Lavf60.16.100
Content-Length: 12

`) + "v=0\r\no=- 0\r\n" + crlf(`SETUP rtsp://127.0.0.1:8554/in/streamid=0 RTSP/1.0
Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record
CSeq: 3
User-Agent: Lavf60.16.100

`) + "$\x00\x00\x04\x80\x60\x00\x01",
		want: []wantReq{
			{"ANNOUNCE", "rtsp://127.0.0.1:8554/in", map[string]string{"Content-Type": "application/sdp"}, "v=0\r\no=- 0\r\n"},
			{"SETUP", "rtsp://127.0.0.1:8554/in/streamid=0", map[string]string{"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"}, ""},
		},
		frames: []uint8{0},
	},
	{
		name: "gstreamer rtspsrc setup with alternatives",
		in: crlf(`OPTIONS rtsp://127.0.0.1:8554/live RTSP/1.0
CSeq: 1
User-Agent: GStreamer/1.22.0

SETUP rtsp://127.0.0.1:8554/live/trackID=0 RTSP/1.0
CSeq: 3
User-Agent: GStreamer/1.22.0
Transport: RTP/AVP;unicast;client_port=45678-45679;mode="PLAY",RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"
Date: Mon, 01 Jan 2024 12:00:00 GMT

GET_PARAMETER rtsp://127.0.0.1:8554/live/ RTSP/1.0
CSeq: 6
User-Agent: GStreamer/1.22.0
Session: 5f2a9c3e1b7d4e60
Date: Mon, 01 Jan 2024 12:00:30 GMT

`),
		want: []wantReq{
			{"OPTIONS", "rtsp://127.0.0.1:8554/live", map[string]string{"CSeq": "1"}, ""},
			{"SETUP", "rtsp://127.0.0.1:8554/live/trackID=0", map[string]string{"Transport": `RTP/AVP;unicast;client_port=45678-45679;mode="PLAY",RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"`}, ""},
			{"GET_PARAMETER", "rtsp://127.0.0.1:8554/live/", map[string]string{"Session": "5f2a9c3e1b7d4e60"}, ""},
		},
	},
	{
		name: "vlc live555 tcp with rtcp receiver report",
		in: crlf(`DESCRIBE rtsp://192.168.1.10:8554/live RTSP/1.0
CSeq: 3
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)
Accept: application/sdp
Authorization: Digest username="admin", realm="camagent", nonce="0123456789abcdef", uri="rtsp://192.168.1.10:8554/live", response="00000000000000000000000000000000"

SETUP rtsp://192.168.1.10:8554/live/trackID=0 RTSP/1.0
CSeq: 4
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)
Transport: RTP/AVP/TCP;unicast;interleaved=0-1

PLAY rtsp://192.168.1.10:8554/live/ RTSP/1.0
CSeq: 5
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)
Session: 5F2A9C3E
Range: npt=0.000-

`) + "$\x01\x00\x08\x80\xc9\x00\x01\x12\x34\x56\x78" + crlf(`GET_PARAMETER rtsp://192.168.1.10:8554/live/ RTSP/1.0
CSeq: 6
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)
Session: 5F2A9C3E

`),
		want: []wantReq{
			{"DESCRIBE", "rtsp://192.168.1.10:8554/live", map[string]string{"Accept": "application/sdp"}, ""},
			{"SETUP", "rtsp://192.168.1.10:8554/live/trackID=0", map[string]string{"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}, ""},
			{"PLAY", "rtsp://192.168.1.10:8554/live/", map[string]string{"Session": "5F2A9C3E"}, ""},
			{"GET_PARAMETER", "rtsp://192.168.1.10:8554/live/", map[string]string{"CSeq": "6"}, ""},
		},
		frames: []uint8{1},
	},
	{
		name: "gortsplib client",
		in: crlf(`OPTIONS rtsp://127.0.0.1:8554/live RTSP/1.0
CSeq: 1
User-Agent: gortsplib

SETUP rtsp://127.0.0.1:8554/live/trackID=0 RTSP/1.0
CSeq: 3
Transport: RTP/AVP;unicast;client_port=35466-35467
User-Agent: gortsplib

`),
		want: []wantReq{
			{"OPTIONS", "rtsp://127.0.0.1:8554/live", map[string]string{"User-Agent": "gortsplib"}, ""},
			{"SETUP", "rtsp://127.0.0.1:8554/live/trackID=0", map[string]string{"Transport": "RTP/AVP;unicast;client_port=35466-35467"}, ""},
		},
	},
	{
		name: "bare LF, lower-case names, folding, blank lines between",
		in:   "\r\n\nOPTIONS * RTSP/1.0\ncseq:   7 \nx-long: a\n\tb\n\nGET_PARAMETER rtsp://h/ RTSP/1.0\nCSEQ: 8\ncontent-length: 3\n\nabc",
		want: []wantReq{
			{"OPTIONS", "*", map[string]string{"CSeq": "7", "X-Long": "a b"}, ""},
			{"GET_PARAMETER", "rtsp://h/", map[string]string{"CSeq": "8"}, "abc"},
		},
	},
	{name: "rtsp 2.0", in: crlf("OPTIONS * RTSP/2.0\nCSeq: 1\n\n"), wantErr: ErrUnsupportedVersion},
	{name: "http", in: crlf("GET / HTTP/1.1\nHost: x\n\n"), wantErr: ErrUnsupportedVersion},
	{name: "response instead of request", in: crlf("RTSP/1.0 200 OK\nCSeq: 1\n\n"), wantErr: ErrBadRequest},
	{name: "two words", in: crlf("OPTIONS RTSP/1.0\n\n"), wantErr: ErrBadRequest},
	{name: "header without colon", in: crlf("OPTIONS * RTSP/1.0\nCSeq 1\n\n"), wantErr: ErrBadRequest},
	{name: "space in header name", in: crlf("OPTIONS * RTSP/1.0\nC Seq: 1\n\n"), wantErr: ErrBadRequest},
	{name: "leading continuation", in: crlf("OPTIONS * RTSP/1.0\n folded\n\n"), wantErr: ErrBadRequest},
	{name: "negative content-length", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: -1\n\n"), wantErr: ErrBadRequest},
	{name: "hex content-length", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 0x10\n\n"), wantErr: ErrBadRequest},
	{name: "conflicting content-length", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 1\nContent-Length: 2\n\nab"), wantErr: ErrBadRequest},
	{name: "huge content-length", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 99999999999\n\n"), wantErr: ErrBadRequest},
	{name: "body too large", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 65537\n\n"), wantErr: ErrBodyTooLarge},
	{name: "truncated body", in: crlf("ANNOUNCE * RTSP/1.0\nContent-Length: 10\n\nabc"), wantErr: errUnexpectedEOF},
	{name: "truncated headers", in: "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n", wantErr: errUnexpectedEOF},
	{name: "truncated frame", in: "$\x00\x00\x10abc", wantErr: errUnexpectedEOF},
	{name: "truncated frame header", in: "$\x00", wantErr: errUnexpectedEOF},
	{name: "line too long", in: "OPTIONS rtsp://h/" + strings.Repeat("a", 5000) + " RTSP/1.0\r\n\r\n", wantErr: ErrLineTooLong},
	{name: "too many headers", in: "OPTIONS * RTSP/1.0\r\n" + strings.Repeat("X-A: 1\r\n", 65) + "\r\n", wantErr: ErrHeaderTooLarge},
	{name: "header block too large", in: "OPTIONS * RTSP/1.0\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 4000)+"\r\n", 5) + "\r\n", wantErr: ErrHeaderTooLarge},
	{name: "CR junk", in: "\rX\r\n", wantErr: ErrBadRequest},
	{name: "only frames", in: "$\x00\x00\x00$\x01\x00\x01z", frames: []uint8{0, 1}},
}

// transportCases feed TestParseTransport and FuzzParseTransport's seeds.
// str is the String() of the first alternative ("" when wantErr).
var transportCases = []struct {
	name    string
	in      string
	want    []Transport
	str     string
	wantErr bool
}{
	{
		name: "ffmpeg udp",
		in:   "RTP/AVP/UDP;unicast;client_port=20000-20001",
		want: []Transport{{Profile: "RTP/AVP/UDP", ClientPorts: [2]int{20000, 20001}, Mode: ModePlay}},
		str:  "RTP/AVP/UDP;unicast;client_port=20000-20001",
	},
	{
		name: "ffmpeg tcp record",
		in:   "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
		want: []Transport{{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: [2]int{0, 1}, Mode: ModeRecord}},
		str:  "RTP/AVP/TCP;unicast;interleaved=0-1;mode=RECORD",
	},
	{
		name: "gstreamer alternatives",
		in:   `RTP/AVP;unicast;client_port=45678-45679;mode="PLAY",RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"`,
		want: []Transport{
			{Profile: "RTP/AVP", ClientPorts: [2]int{45678, 45679}, Mode: ModePlay},
			{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: [2]int{0, 1}, Mode: ModePlay},
		},
		str: "RTP/AVP;unicast;client_port=45678-45679",
	},
	{
		name: "server reply with ssrc",
		in:   "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D",
		want: []Transport{{Profile: "RTP/AVP", ClientPorts: [2]int{5000, 5001}, ServerPorts: [2]int{6970, 6971}, HasSSRC: true, SSRC: 0x1A2B3C4D, Mode: ModePlay}},
		str:  "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B3C4D",
	},
	{
		name: "multicast",
		in:   "RTP/AVP;multicast;destination=239.1.2.3;port=5004-5005;ttl=16",
		want: []Transport{{Profile: "RTP/AVP", Multicast: true, Destination: "239.1.2.3", Port: [2]int{5004, 5005}, TTL: 16, Mode: ModePlay}},
		str:  "RTP/AVP;multicast;destination=239.1.2.3;port=5004-5005;ttl=16",
	},
	{
		name: "single port means pair, unknown params, lower case, short ssrc",
		in:   "rtp/avp ; unicast ; client_port=6000 ; x-foo=bar ; append ; ssrc=beef",
		want: []Transport{{Profile: "RTP/AVP", ClientPorts: [2]int{6000, 6001}, HasSSRC: true, SSRC: 0xbeef, Mode: ModePlay}},
		str:  "RTP/AVP;unicast;client_port=6000-6001;ssrc=0000BEEF",
	},
	{
		name: "default unicast, single channel",
		in:   "RTP/AVP/TCP;interleaved=4",
		want: []Transport{{Profile: "RTP/AVP/TCP", HasInterleaved: true, Interleaved: [2]int{4, 5}, Mode: ModePlay}},
		str:  "RTP/AVP/TCP;unicast;interleaved=4-5",
	},
	{
		name: "bad alternative skipped",
		in:   "RAW/RAW/UDP;unicast;client_port=1-2,RTP/AVP;unicast;client_port=abc,RTP/AVP;unicast;client_port=7000-7001;source=10.0.0.1",
		want: []Transport{{Profile: "RTP/AVP", ClientPorts: [2]int{7000, 7001}, Source: "10.0.0.1", Mode: ModePlay}},
		str:  "RTP/AVP;unicast;source=10.0.0.1;client_port=7000-7001",
	},
	{name: "empty", in: "", wantErr: true},
	{name: "not rtp", in: "RAW/RAW/UDP;unicast", wantErr: true},
	{name: "port 0", in: "RTP/AVP;client_port=0-1", wantErr: true},
	{name: "port too big", in: "RTP/AVP;client_port=65535", wantErr: true},
	{name: "channel too big", in: "RTP/AVP/TCP;interleaved=255", wantErr: true},
	{name: "bad ssrc", in: "RTP/AVP;ssrc=123456789", wantErr: true},
	{name: "bad mode", in: "RTP/AVP;mode=dance", wantErr: true},
	{name: "bad ttl", in: "RTP/AVP;multicast;ttl=300", wantErr: true},
	{name: "bad profile", in: "RTP/AVP/SCTP", wantErr: true},
}

// authorizationCases feed TestParseAuthorization and FuzzParseAuthorization.
var authorizationCases = []struct {
	name    string
	in      string
	scheme  string
	params  map[string]string
	wantErr bool
}{
	{
		name:   "ffmpeg digest qop",
		in:     `Digest username="admin",realm="camagent",nonce="abc",uri="rtsp://127.0.0.1:8554/live",response="37c888fd721b8d99b789f83bb36da70d",algorithm=MD5,qop="auth",cnonce="8a4d3c2b1e0f9a7b",nc=00000001`,
		scheme: "digest",
		params: map[string]string{"username": "admin", "realm": "camagent", "nonce": "abc", "uri": "rtsp://127.0.0.1:8554/live", "response": "37c888fd721b8d99b789f83bb36da70d", "algorithm": "MD5", "qop": "auth", "cnonce": "8a4d3c2b1e0f9a7b", "nc": "00000001"},
	},
	{
		name:   "gstreamer digest with opaque",
		in:     `Digest username="admin", realm="camagent", nonce="abc", uri="rtsp://127.0.0.1:8554/live", response="ac2cf52be832fc6f836fe5d94af19899", opaque="xyz"`,
		scheme: "digest",
		params: map[string]string{"username": "admin", "realm": "camagent", "nonce": "abc", "uri": "rtsp://127.0.0.1:8554/live", "response": "ac2cf52be832fc6f836fe5d94af19899", "opaque": "xyz"},
	},
	{
		name:   "quoted comma and escaped quote",
		in:     `digest Username="a\"b,c" , REALM = "x\\y",, uri=*`,
		scheme: "digest",
		params: map[string]string{"username": `a"b,c`, "realm": `x\y`, "uri": "*"},
	},
	{name: "basic", in: "Basic YWRtaW46c2VjcmV0", scheme: "basic", params: map[string]string{Token68Key: "YWRtaW46c2VjcmV0"}},
	{name: "basic padded", in: "Basic YWRtaW46c2VjcmV0MQ==", scheme: "basic", params: map[string]string{Token68Key: "YWRtaW46c2VjcmV0MQ=="}},
	{name: "scheme only", in: "Digest", scheme: "digest", params: map[string]string{}},
	{name: "empty", in: "", wantErr: true},
	{name: "unterminated quote", in: `Digest username="admin`, wantErr: true},
	{name: "trailing backslash", in: `Digest username="admin\`, wantErr: true},
	{name: "duplicate", in: `Digest username="a", username="b"`, wantErr: true},
	{name: "missing value", in: `Digest username, realm="x"`, wantErr: true},
	{name: "junk after value", in: `Digest username="a" realm="x"`, wantErr: true},
	{name: "bad scheme", in: `Dig"est x=1`, wantErr: true},
	{name: "too long", in: "Digest username=\"" + strings.Repeat("a", 5000) + "\"", wantErr: true},
	{name: "too many params", in: "Digest " + manyParams(40), wantErr: true},
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString("=1,")
	}
	return b.String()
}
