package rtsp

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFFmpegDigest lets the installed ffmpeg authenticate against a minimal
// loopback RTSP responder built on Reader, Response and Authenticator, with
// and without a qop offer. The responder answers 404 once authenticated, so
// ffmpeg then exits.
func TestFFmpegDigest(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg not found")
		}
		t.Skip("ffmpeg not found")
	}
	for _, tc := range []struct {
		name, method string
		qop          bool
		wantQop      bool
	}{
		{"digest", AuthDigest, false, false},
		{"digest qop", AuthDigest, true, true},
		{"basic", AuthBasic, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Authenticator{User: "admin", Pass: "s3cret", Method: tc.method, OfferQop: tc.qop}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				authOK bool
				header string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				var res result
				defer func() { done <- res }()
				conn, err := ln.Accept()
				if err != nil {
					res.err = err
					return
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				rd := NewReader(conn, Limits{})
				for {
					req, err := rd.ReadRequest()
					if err != nil {
						res.err = err
						return
					}
					resp := Response{StatusCode: 200, Header: Header{"CSeq": {req.Header.Get("CSeq")}}}
					switch req.Method {
					case "OPTIONS":
						resp.Header.Set("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN")
					default:
						h := req.Header.Get("Authorization")
						err := a.Check(req.Method, h, "127.0.0.1")
						switch {
						case err == nil:
							res.authOK, res.header = true, h
							resp.StatusCode = 404
						case errors.Is(err, ErrStaleNonce):
							resp.StatusCode = 401
							resp.Header.Set("WWW-Authenticate", a.StaleChallenge())
						default:
							resp.StatusCode = 401
							resp.Header.Set("WWW-Authenticate", a.Challenge())
						}
					}
					if err := resp.Write(conn); err != nil {
						res.err = err
						return
					}
					if resp.StatusCode == 404 {
						return
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			url := "rtsp://admin:s3cret@" + ln.Addr().String() + "/live"
			out, _ := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp",
				"-i", url, "-t", "1", "-f", "null", "-").CombinedOutput()
			ln.Close() // unblocks Accept if ffmpeg never connected
			res := <-done
			if !res.authOK {
				t.Fatalf("ffmpeg did not authenticate (server err %v); ffmpeg said:\n%s", res.err, out)
			}
			if got := strings.Contains(res.header, "qop="); got != tc.wantQop {
				t.Errorf("qop in %q: %v, want %v", res.header, got, tc.wantQop)
			}
		})
	}
}
