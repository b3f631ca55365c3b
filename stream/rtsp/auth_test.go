package rtsp

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestAuth(method string) (*Authenticator, *fakeClock) {
	clk := &fakeClock{t: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)}
	a := &Authenticator{User: "admin", Pass: "secret", Method: method, Now: clk.Now, Secret: []byte("test secret")}
	if err := a.Init(); err != nil {
		panic(err)
	}
	return a, clk
}

// nonceOf extracts the nonce from a Digest challenge.
func nonceOf(t testing.TB, challenge string) string {
	_, p, err := ParseAuthorization(challenge)
	if err != nil {
		t.Fatal(err)
	}
	return p["nonce"]
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// live555Header is what live555 (and GStreamer) send: RFC 2069, no qop.
func live555Header(user, pass, realm, nonce, method, uri string) string {
	resp := md5hex(md5hex(user+":"+realm+":"+pass) + ":" + nonce + ":" + md5hex(method+":"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s"`, user, realm, nonce, uri, resp)
}

// ffmpegQopHeader is what ffmpeg sends when the challenge offers qop="auth".
func ffmpegQopHeader(user, pass, realm, nonce, method, uri, nc, cnonce string) string {
	resp := md5hex(md5hex(user+":"+realm+":"+pass) + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + md5hex(method+":"+uri))
	return fmt.Sprintf(`Digest username="%s",realm="%s",nonce="%s",uri="%s",response="%s",algorithm=MD5,qop="auth",cnonce="%s",nc=%s`,
		user, realm, nonce, uri, resp, cnonce, nc)
}

// TestDigestRFCVectors checks the response computation against the worked
// examples of RFC 2069 (no qop) and RFC 2617 §3.5 (qop=auth). Their nonces
// are not ours, so a correct answer is reported as stale and a wrong one as
// bad credentials.
func TestDigestRFCVectors(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	for _, tc := range []struct {
		name, pass, header string
	}{
		{"RFC 2069", "CircleOfLife", `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="1949323746fe6a43ef61f9606e7febea", opaque="5ccc069c403ebaf9f0171e9517f40e41"`},
		{"RFC 2617", "Circle Of Life", `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Authenticator{User: "Mufasa", Pass: tc.pass, Realm: "testrealm@host.com", Now: clk.Now}
			if err := a.Check("GET", tc.header, "192.0.2.1"); !errors.Is(err, ErrStaleNonce) {
				t.Fatalf("correct response: err = %v, want ErrStaleNonce", err)
			}
			// Change the response's first hex digit.
			i := strings.Index(tc.header, `response="`) + len(`response="`)
			wrong := tc.header[:i] + "0" + tc.header[i+1:]
			if wrong == tc.header {
				t.Fatal("response unchanged")
			}
			if err := a.Check("GET", wrong, "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("wrong response: err = %v, want ErrBadCredentials", err)
			}
		})
	}
}

// TestDigestHandComputed uses responses computed by hand (Python hashlib)
// for user admin, password secret, realm camagent, nonce 0123456789abcdef,
// DESCRIBE rtsp://127.0.0.1:8554/live.
func TestDigestHandComputed(t *testing.T) {
	a, _ := newTestAuth("")
	hdrs := []string{
		`Digest username="admin", realm="camagent", nonce="0123456789abcdef", uri="rtsp://127.0.0.1:8554/live", response="ac2cf52be832fc6f836fe5d94af19899"`,
		`Digest username="admin",realm="camagent",nonce="0123456789abcdef",uri="rtsp://127.0.0.1:8554/live",response="37c888fd721b8d99b789f83bb36da70d",algorithm=MD5,qop="auth",cnonce="8a4d3c2b1e0f9a7b",nc=00000001`,
	}
	if got := live555Header("admin", "secret", "camagent", "0123456789abcdef", "DESCRIBE", "rtsp://127.0.0.1:8554/live"); got != hdrs[0] {
		t.Fatalf("test helper disagrees with hand computation:\n%s\n%s", got, hdrs[0])
	}
	if got := ffmpegQopHeader("admin", "secret", "camagent", "0123456789abcdef", "DESCRIBE", "rtsp://127.0.0.1:8554/live", "00000001", "8a4d3c2b1e0f9a7b"); got != hdrs[1] {
		t.Fatalf("test helper disagrees with hand computation:\n%s\n%s", got, hdrs[1])
	}
	for _, h := range hdrs {
		// Foreign nonce with a correct response: stale, so the client retries.
		if err := a.Check("DESCRIBE", h, "192.0.2.1"); !errors.Is(err, ErrStaleNonce) {
			t.Errorf("%s: err = %v, want ErrStaleNonce", h, err)
		}
		// The same header for another method is wrong.
		if err := a.Check("SETUP", h, "192.0.2.2"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: err = %v, want ErrBadCredentials", h, err)
		}
	}
}

func TestDigestClients(t *testing.T) {
	const uri = "rtsp://127.0.0.1:8554/live"
	for _, offerQop := range []bool{false, true} {
		a, clk := newTestAuth(AuthDigest)
		a.OfferQop = offerQop
		ch := a.Challenge()
		wantCh := `Digest realm="camagent", nonce="` + nonceOf(t, ch) + `", algorithm=MD5`
		if offerQop {
			wantCh += `, qop="auth"`
		}
		if ch != wantCh {
			t.Fatalf("challenge %q, want %q", ch, wantCh)
		}
		nonce := nonceOf(t, ch)
		if len(nonce) != 64 {
			t.Fatalf("nonce %q", nonce)
		}
		// Both forms are accepted whatever was offered.
		for _, h := range []string{
			live555Header("admin", "secret", "camagent", nonce, "DESCRIBE", uri),
			ffmpegQopHeader("admin", "secret", "camagent", nonce, "DESCRIBE", uri, "00000001", "0a4f113b"),
			ffmpegQopHeader("admin", "secret", "camagent", nonce, "DESCRIBE", uri, "0000000A", "x"),
			strings.ToUpper(live555Header("admin", "secret", "camagent", nonce, "DESCRIBE", uri)[:6]) + live555Header("admin", "secret", "camagent", nonce, "DESCRIBE", uri)[6:],
		} {
			if err := a.Check("DESCRIBE", h, "192.0.2.1"); err != nil {
				t.Errorf("qop offered %v: %s: %v", offerQop, h, err)
			}
		}
		// Wrong password, wrong user, wrong realm, other scheme.
		for _, tc := range []struct {
			h    string
			want error
		}{
			{live555Header("admin", "wrong", "camagent", nonce, "DESCRIBE", uri), ErrBadCredentials},
			{live555Header("root", "secret", "camagent", nonce, "DESCRIBE", uri), ErrBadCredentials},
			{live555Header("admin", "secret", "other", nonce, "DESCRIBE", uri), ErrBadCredentials},
			{strings.Replace(live555Header("admin", "secret", "camagent", nonce, "DESCRIBE", uri), "uri=", "algorithm=SHA-256, uri=", 1), ErrBadCredentials},
			{strings.Replace(ffmpegQopHeader("admin", "secret", "camagent", nonce, "DESCRIBE", uri, "00000001", "c"), `qop="auth"`, `qop="auth-int"`, 1), ErrBadCredentials},
			{strings.Replace(ffmpegQopHeader("admin", "secret", "camagent", nonce, "DESCRIBE", uri, "00000001", "c"), `nc=00000001`, `nc=1`, 1), ErrBadCredentials},
			{`Digest username="admin"`, ErrBadCredentials},
			{`Digest username="admin`, ErrBadCredentials},
			{"Basic YWRtaW46c2VjcmV0", ErrNoCredentials},
			{"", ErrNoCredentials},
		} {
			if err := a.Check("DESCRIBE", tc.h, "198.51.100.7"); !errors.Is(err, tc.want) {
				t.Errorf("%q: err = %v, want %v", tc.h, err, tc.want)
			}
			clk.Advance(time.Minute) // stay clear of the rate limit
		}
	}
}

func TestNonceExpiry(t *testing.T) {
	const uri = "rtsp://cam/live"
	a, clk := newTestAuth("")
	nonce := nonceOf(t, a.Challenge())
	h := live555Header("admin", "secret", "camagent", nonce, "PLAY", uri)
	clk.Advance(a.NonceLifetime)
	if err := a.Check("PLAY", h, "192.0.2.1"); err != nil {
		t.Fatalf("at lifetime: %v", err)
	}
	clk.Advance(time.Second)
	if err := a.Check("PLAY", h, "192.0.2.1"); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("after lifetime: %v", err)
	}
	stale := a.StaleChallenge()
	// live555 sscanf's exactly this prefix; stale must follow nonce, unquoted.
	n2 := nonceOf(t, stale)
	if want := `Digest realm="camagent", nonce="` + n2 + `", stale=TRUE, algorithm=MD5`; stale != want {
		t.Fatalf("stale challenge %q, want %q", stale, want)
	}
	if err := a.Check("PLAY", live555Header("admin", "secret", "camagent", n2, "PLAY", uri), "192.0.2.1"); err != nil {
		t.Fatalf("fresh nonce: %v", err)
	}
	// Another Authenticator's nonce (another secret, e.g. before a restart).
	b := &Authenticator{User: "admin", Pass: "secret", Now: clk.Now, Secret: []byte("other")}
	n3 := nonceOf(t, b.Challenge())
	if err := a.Check("PLAY", live555Header("admin", "secret", "camagent", n3, "PLAY", uri), "192.0.2.1"); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("foreign nonce: %v", err)
	}
	// Stale answers do not count as failures.
	for range 10 {
		_ = a.Check("PLAY", h, "192.0.2.1")
	}
	if err := a.Check("PLAY", live555Header("admin", "secret", "camagent", n2, "PLAY", uri), "192.0.2.1"); err != nil {
		t.Fatalf("after stale answers: %v", err)
	}
}

func TestBasic(t *testing.T) {
	a, _ := newTestAuth(AuthBasic)
	if ch := a.Challenge(); ch != `Basic realm="camagent"` {
		t.Fatal(ch)
	}
	if ch := a.StaleChallenge(); ch != `Basic realm="camagent"` {
		t.Fatal(ch)
	}
	for h, want := range map[string]error{
		"Basic YWRtaW46c2VjcmV0":     nil,               // admin:secret
		"basic YWRtaW46c2VjcmV0":     nil,               // scheme is case-insensitive
		"Basic YWRtaW46c2VjcmV1":     ErrBadCredentials, // admin:secreu
		"Basic YWRtaW46c2VjcmV0MQ==": ErrBadCredentials, // admin:secret1
		"Basic !!!":                  ErrBadCredentials,
		"Basic":                      ErrBadCredentials,
		`Digest username="admin", realm="camagent", nonce="x", uri="/", response="00000000000000000000000000000000"`: ErrNoCredentials,
	} {
		if err := a.Check("DESCRIBE", h, fmt.Sprint(len(h))); !errors.Is(err, want) {
			t.Errorf("%q: err = %v, want %v", h, err, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	a, clk := newTestAuth(AuthBasic)
	const good, bad = "Basic YWRtaW46c2VjcmV0", "Basic YWRtaW46c2VjcmV1"
	for i := range 4 {
		if err := a.Check("OPTIONS", bad, "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// A success resets the count.
	if err := a.Check("OPTIONS", good, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_ = a.Check("OPTIONS", bad, "192.0.2.1")
	}
	if err := a.Check("OPTIONS", good, "192.0.2.1"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("locked out: %v", err)
	}
	if err := a.Check("OPTIONS", good, "192.0.2.2"); err != nil {
		t.Fatalf("other IP: %v", err)
	}
	clk.Advance(a.Lockout - time.Second)
	if err := a.Check("OPTIONS", good, "192.0.2.1"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("still locked out: %v", err)
	}
	clk.Advance(time.Second)
	if err := a.Check("OPTIONS", good, "192.0.2.1"); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
	// Failures spread wider than the window do not lock out.
	for range 20 {
		_ = a.Check("OPTIONS", bad, "192.0.2.3")
		clk.Advance(a.FailureWindow/4 + time.Second)
		_ = a.Check("OPTIONS", bad, "192.0.2.3")
		clk.Advance(a.FailureWindow)
	}
	if err := a.Check("OPTIONS", good, "192.0.2.3"); err != nil {
		t.Fatalf("slow failures: %v", err)
	}
	// Missing credentials are not failures.
	for range 20 {
		_ = a.Check("OPTIONS", "", "192.0.2.4")
	}
	if err := a.Check("OPTIONS", good, "192.0.2.4"); err != nil {
		t.Fatalf("no-credential requests: %v", err)
	}
}

func TestRateLimitBoundedMemory(t *testing.T) {
	a, clk := newTestAuth(AuthBasic)
	a.MaxTrackedIPs = 8
	const bad = "Basic YWRtaW46c2VjcmV1"
	for i := range 1000 {
		_ = a.Check("OPTIONS", bad, fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		if len(a.fails) > a.MaxTrackedIPs {
			t.Fatalf("tracking %d IPs, cap %d", len(a.fails), a.MaxTrackedIPs)
		}
		if i%100 == 0 {
			clk.Advance(time.Second)
		}
	}
	// A locked-out IP stays locked while others churn below the cap.
	for range 5 {
		_ = a.Check("OPTIONS", bad, "192.0.2.9")
	}
	if err := a.Check("OPTIONS", bad, "192.0.2.9"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatal(err)
	}
}

func TestAuthConfig(t *testing.T) {
	for _, a := range []*Authenticator{
		{User: ""},
		{User: "a:b"},
		{User: "a", Realm: `x"y`},
		{User: "a", Method: "ntlm"},
	} {
		if err := a.Init(); !errors.Is(err, ErrAuthConfig) {
			t.Errorf("%+v: %v", a, err)
		}
		if a.Challenge() != "" {
			t.Error("challenge from a bad config")
		}
		if err := a.Check("OPTIONS", "Basic eA==", "ip"); !errors.Is(err, ErrAuthConfig) {
			t.Errorf("Check: %v", err)
		}
	}
	// Defaults.
	a := &Authenticator{User: "u"}
	if err := a.Init(); err != nil {
		t.Fatal(err)
	}
	if a.Realm != "camagent" || a.Method != AuthDigest || a.NonceLifetime != 10*time.Minute || len(a.Secret) != 32 {
		t.Fatalf("%+v", a)
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range authorizationCases {
		t.Run(tc.name, func(t *testing.T) {
			scheme, params, err := ParseAuthorization(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadAuthorization) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if scheme != tc.scheme || !reflect.DeepEqual(params, tc.params) {
				t.Fatalf("got %q %v, want %q %v", scheme, params, tc.scheme, tc.params)
			}
		})
	}
}
