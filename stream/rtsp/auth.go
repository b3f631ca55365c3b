package rtsp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors returned by Authenticator.Check. The server answers:
//   - ErrNoCredentials, ErrBadCredentials: 401 with WWW-Authenticate: Challenge().
//   - ErrStaleNonce: 401 with WWW-Authenticate: StaleChallenge(); the client
//     retries with the new nonce without asking its user.
//   - ErrTooManyAttempts: 403 (or 401 and close); the client's IP is locked out.
var (
	ErrNoCredentials   = errors.New("rtsp: no credentials")
	ErrBadCredentials  = errors.New("rtsp: bad credentials")
	ErrStaleNonce      = errors.New("rtsp: stale nonce")
	ErrTooManyAttempts = errors.New("rtsp: too many failed authentication attempts")
	ErrAuthConfig      = errors.New("rtsp: bad authenticator configuration")
)

// Authentication methods for Authenticator.Method.
const (
	AuthDigest = "digest"
	AuthBasic  = "basic"
)

// Authenticator checks the Authorization header of requests against one
// user, as an RTSP server (RFC 2326 §D, RFC 2617). Only the configured Method
// is accepted. It is safe for concurrent use once configured; the exported
// fields must not change after the first call.
//
// Digest compatibility: the challenge follows the RFC 2069 form, without
// qop, because that is what every RTSP client handles: live555 (VLC,
// openRTSP, many NVRs) and GStreamer's rtspsrc always compute the RFC 2069
// response and ignore a qop offer; ffmpeg switches to qop=auth only when the
// server offers it; gortsplib's client ignores qop. Check accepts both the
// RFC 2069 response and the RFC 2617 qop=auth response (with nc and cnonce)
// whatever was offered, so OfferQop can be turned on for clients that want
// it without locking out the others. The challenge's parameter order is
// fixed as realm, nonce, stale, algorithm, qop: live555 parses it with
// sscanf("Digest realm=\"%[^\"]\", nonce=\"%[^\"]\", stale=%[a-zA-Z]"), so
// any other order or a quoted stale breaks it.
//
// Nonces are stateless: a timestamp, 8 random bytes, and an HMAC-SHA256 of
// both under Secret. They expire after NonceLifetime; a correct response
// with an expired or unknown nonce (say, from before a restart) gives
// ErrStaleNonce. Because no state is kept, nc is not checked for replays:
// a captured Authorization header can be replayed until its nonce expires.
// Check does not compare the digest uri with the request URL (clients differ
// in how they write it); the caller may.
type Authenticator struct {
	User  string // required; no ':', '"' or '\'
	Pass  string
	Realm string // default "camagent"; no '"' or '\'

	// Method is AuthDigest (default) or AuthBasic.
	Method string
	// OfferQop adds qop="auth" to the Digest challenge. Default false; see
	// the type's doc.
	OfferQop bool

	// Now is the clock; default time.Now.
	Now func() time.Time
	// NonceLifetime is how long a nonce is valid; default 10 minutes. Clients
	// that reuse one nonce for keep-alives get a stale challenge after it and
	// re-authenticate transparently (ffmpeg, live555, gortsplib do).
	NonceLifetime time.Duration
	// Secret is the HMAC key for nonces; default 32 random bytes.
	Secret []byte

	// MaxFailures failed checks from one IP within FailureWindow lock that IP
	// out for Lockout. Defaults 5, 1 minute, 5 minutes.
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	// MaxTrackedIPs bounds the failure table; default 1024. When full, expired
	// entries are dropped, then the oldest.
	MaxTrackedIPs int

	once    sync.Once
	initErr error
	ha1     string   // hex MD5(user:realm:pass)
	basic   [32]byte // SHA-256 of "user:pass"
	mu      sync.Mutex
	fails   map[string]*failEntry
}

type failEntry struct {
	count        int
	windowStart  time.Time
	blockedUntil time.Time
}

// Init validates the configuration and fills in defaults. Calling it is
// optional (Challenge and Check call it), but it reports configuration
// errors early.
func (a *Authenticator) Init() error {
	a.once.Do(func() { a.initErr = a.doInit() })
	return a.initErr
}

func (a *Authenticator) doInit() error {
	if a.User == "" || strings.ContainsAny(a.User, ":\"\\\r\n") {
		return fmt.Errorf("%w: user must be non-empty without ':', '\"' or '\\'", ErrAuthConfig)
	}
	if a.Realm == "" {
		a.Realm = "camagent"
	}
	for i := 0; i < len(a.Realm); i++ {
		if c := a.Realm[i]; c < ' ' || c == '"' || c == '\\' || c == 0x7f {
			return fmt.Errorf("%w: realm must be printable without '\"' or '\\'", ErrAuthConfig)
		}
	}
	switch strings.ToLower(a.Method) {
	case "", AuthDigest:
		a.Method = AuthDigest
	case AuthBasic:
		a.Method = AuthBasic
	default:
		return fmt.Errorf("%w: method %q", ErrAuthConfig, a.Method)
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.NonceLifetime <= 0 {
		a.NonceLifetime = 10 * time.Minute
	}
	if len(a.Secret) == 0 {
		a.Secret = make([]byte, 32)
		if _, err := rand.Read(a.Secret); err != nil {
			return fmt.Errorf("%w: %w", ErrAuthConfig, err)
		}
	}
	if a.MaxFailures <= 0 {
		a.MaxFailures = 5
	}
	if a.FailureWindow <= 0 {
		a.FailureWindow = time.Minute
	}
	if a.Lockout <= 0 {
		a.Lockout = 5 * time.Minute
	}
	if a.MaxTrackedIPs <= 0 {
		a.MaxTrackedIPs = 1024
	}
	a.ha1 = md5Hex(a.User + ":" + a.Realm + ":" + a.Pass)
	a.basic = sha256.Sum256([]byte(a.User + ":" + a.Pass))
	a.fails = make(map[string]*failEntry)
	return nil
}

// Challenge returns the WWW-Authenticate value for a 401 answer, e.g.
// `Digest realm="camagent", nonce="…", algorithm=MD5` or
// `Basic realm="camagent"`. It returns "" only if the configuration is
// invalid (see Init).
func (a *Authenticator) Challenge() string { return a.challenge(false) }

// StaleChallenge is Challenge with stale=TRUE, for answering ErrStaleNonce.
func (a *Authenticator) StaleChallenge() string { return a.challenge(true) }

func (a *Authenticator) challenge(stale bool) string {
	if a.Init() != nil {
		return ""
	}
	if a.Method == AuthBasic {
		return `Basic realm="` + a.Realm + `"`
	}
	var b strings.Builder
	b.WriteString(`Digest realm="`)
	b.WriteString(a.Realm)
	b.WriteString(`", nonce="`)
	b.WriteString(a.newNonce(a.Now()))
	b.WriteString(`"`)
	if stale {
		b.WriteString(`, stale=TRUE`)
	}
	b.WriteString(`, algorithm=MD5`)
	if a.OfferQop {
		b.WriteString(`, qop="auth"`)
	}
	return b.String()
}

const (
	nonceRawLen = 8 + 8 + 16 // timestamp, random, truncated MAC
	nonceLen    = 2 * nonceRawLen
)

func (a *Authenticator) newNonce(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.Unix()))
	_, _ = rand.Read(raw[8:16]) // never fails on Linux; zeros are still a valid nonce
	a.nonceMAC(raw[:16], raw[16:])
	return hex.EncodeToString(raw[:])
}

func (a *Authenticator) nonceMAC(msg, out []byte) {
	m := hmac.New(sha256.New, a.Secret)
	m.Write(msg)
	var sum [sha256.Size]byte
	copy(out, m.Sum(sum[:0]))
}

// nonceFresh reports whether nonce was made by this Authenticator and has
// not expired.
func (a *Authenticator) nonceFresh(nonce string, now time.Time) bool {
	if len(nonce) != nonceLen {
		return false
	}
	var raw [nonceRawLen]byte
	if _, err := hex.Decode(raw[:], []byte(nonce)); err != nil {
		return false
	}
	var mac [16]byte
	a.nonceMAC(raw[:16], mac[:])
	if !hmac.Equal(mac[:], raw[16:]) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	age := now.Sub(issued)
	// Allow a little clock step backwards; the nonce has 1 s resolution.
	return age > -5*time.Second && age <= a.NonceLifetime
}

// Check verifies the Authorization header value of a request with the
// given method (e.g. "DESCRIBE") from remoteIP (the IP alone, no port; it
// keys the failure rate limit). It returns nil when the credentials are
// good, or one of ErrNoCredentials, ErrBadCredentials, ErrStaleNonce,
// ErrTooManyAttempts (possibly wrapped), or ErrAuthConfig.
//
// A missing header, or one of another scheme than Method, is not counted as
// a failed attempt; a wrong or malformed one is.
func (a *Authenticator) Check(method, authorization, remoteIP string) error {
	if err := a.Init(); err != nil {
		return err
	}
	now := a.Now()
	if a.blocked(remoteIP, now) {
		return ErrTooManyAttempts
	}
	if strings.TrimSpace(authorization) == "" {
		return ErrNoCredentials
	}
	scheme, params, err := ParseAuthorization(authorization)
	if err != nil {
		a.fail(remoteIP, now)
		return fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	if scheme != a.Method {
		return fmt.Errorf("%w: scheme %.16q not accepted", ErrNoCredentials, scheme)
	}
	if scheme == AuthBasic {
		err = a.checkBasic(params)
	} else {
		err = a.checkDigest(method, params, now)
	}
	switch {
	case err == nil:
		a.succeed(remoteIP)
	case errors.Is(err, ErrBadCredentials):
		a.fail(remoteIP, now)
	}
	return err
}

func (a *Authenticator) checkBasic(params map[string]string) error {
	dec, err := base64.StdEncoding.DecodeString(params[Token68Key])
	if err != nil || len(dec) == 0 {
		return fmt.Errorf("%w: basic credentials not base64", ErrBadCredentials)
	}
	got := sha256.Sum256(dec)
	if subtle.ConstantTimeCompare(got[:], a.basic[:]) != 1 {
		return ErrBadCredentials
	}
	return nil
}

func (a *Authenticator) checkDigest(method string, p map[string]string, now time.Time) error {
	username, nonce, uri, response := p["username"], p["nonce"], p["uri"], p["response"]
	if nonce == "" || uri == "" || len(response) != 32 {
		return fmt.Errorf("%w: digest parameters missing", ErrBadCredentials)
	}
	if p["realm"] != a.Realm {
		return fmt.Errorf("%w: realm", ErrBadCredentials)
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return fmt.Errorf("%w: algorithm %.16q", ErrBadCredentials, alg)
	}
	ha2 := md5Hex(method + ":" + uri)
	var want string
	switch qop := p["qop"]; {
	case qop == "":
		want = md5Hex(a.ha1 + ":" + nonce + ":" + ha2)
	case strings.EqualFold(qop, "auth"):
		nc, cnonce := p["nc"], p["cnonce"]
		if len(nc) != 8 || !isHex(nc) || cnonce == "" {
			return fmt.Errorf("%w: qop=auth needs nc and cnonce", ErrBadCredentials)
		}
		want = md5Hex(a.ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
	default:
		return fmt.Errorf("%w: qop %.16q", ErrBadCredentials, qop)
	}
	userOK := subtle.ConstantTimeCompare([]byte(username), []byte(a.User))
	respOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(response)), []byte(want))
	if userOK&respOK != 1 {
		return ErrBadCredentials
	}
	if !a.nonceFresh(nonce, now) {
		return ErrStaleNonce
	}
	return nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// blocked reports whether ip is locked out at now.
func (a *Authenticator) blocked(ip string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.fails[ip]
	return e != nil && now.Before(e.blockedUntil)
}

func (a *Authenticator) succeed(ip string) {
	a.mu.Lock()
	delete(a.fails, ip)
	a.mu.Unlock()
}

// fail records a failed attempt from ip, locking it out after MaxFailures
// within FailureWindow.
func (a *Authenticator) fail(ip string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.fails[ip]
	if e == nil {
		if len(a.fails) >= a.MaxTrackedIPs {
			a.evict(now)
		}
		e = &failEntry{windowStart: now}
		a.fails[ip] = e
	}
	if now.Sub(e.windowStart) > a.FailureWindow {
		e.count = 0
		e.windowStart = now
	}
	e.count++
	if e.count >= a.MaxFailures {
		e.blockedUntil = now.Add(a.Lockout)
		e.count = 0
		e.windowStart = now
	}
}

// evict makes room in the failure table: it drops every entry that is
// neither locked out nor within its window, and if none was, the one whose
// window started first. Called with mu held, only on failures, so the O(n)
// scan over at most MaxTrackedIPs entries is cheap.
func (a *Authenticator) evict(now time.Time) {
	var oldestIP string
	var oldest time.Time
	found, removed := false, false
	for ip, e := range a.fails {
		if !now.Before(e.blockedUntil) && now.Sub(e.windowStart) > a.FailureWindow {
			delete(a.fails, ip)
			removed = true
			continue
		}
		if !found || e.windowStart.Before(oldest) {
			oldestIP, oldest, found = ip, e.windowStart, true
		}
	}
	if !removed && found {
		delete(a.fails, oldestIP)
	}
}
