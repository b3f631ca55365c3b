package stream

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

var (
	fuzzServerOnce sync.Once
	fuzzServer     *testServer
)

// FuzzConn throws arbitrary bytes at a real server's RTSP port: whatever
// arrives, the server answers or closes, never panics, and frees the
// connection once the client is done.
func FuzzConn(f *testing.F) {
	for _, s := range []string{
		"OPTIONS rtsp://h/stream1 RTSP/1.0\r\nCSeq: 1\r\n\r\n",
		"DESCRIBE rtsp://h/stream1 RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n",
		"SETUP rtsp://h/stream1/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n" +
			"PLAY rtsp://h/stream1 RTSP/1.0\r\nCSeq: 4\r\nSession: 0123456789abcdef\r\n\r\n",
		"SETUP rtsp://h/stream1/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n",
		"SETUP rtsp://h/stream1/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;multicast\r\n\r\n",
		"$\x01\x00\x08\x81\xc9\x00\x01\x00\x00\x00\x01",
		"GET_PARAMETER rtsp://h/stream1 RTSP/1.0\r\nCSeq: 9\r\nSession: x\r\nContent-Length: 5\r\n\r\nhello",
		"TEARDOWN * RTSP/1.0\r\nCSeq: 1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzServerOnce.Do(func() {
			// It lives as long as the fuzzing process.
			fuzzServer, _ = runTestServer(t, func(c *Config) { c.RequestTimeout = 500 * time.Millisecond })
		})
		c, err := net.Dial("tcp", fuzzServer.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("the server did not close the connection after the client finished: %v", err)
		}
	})
}
