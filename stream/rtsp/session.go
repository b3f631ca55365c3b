package rtsp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadSession is returned by ParseSession. A server answers 454 Session
// Not Found (the client named no session it could have).
var ErrBadSession = errors.New("rtsp: bad Session header")

// ParseSession parses a Session header (RFC 2326 §12.37): "id" or
// "id;timeout=60". timeout is 0 when absent. Unknown parameters are ignored.
func ParseSession(s string) (id string, timeout int, err error) {
	id, params, _ := strings.Cut(s, ";")
	id = strings.TrimSpace(id)
	if !validSessionID(id) {
		return "", 0, fmt.Errorf("%w: id", ErrBadSession)
	}
	for p := range strings.SplitSeq(params, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(name), "timeout") {
			timeout, err = parseDecimal(strings.TrimSpace(val), 1<<20)
			if err != nil {
				return "", 0, fmt.Errorf("%w: timeout", ErrBadSession)
			}
		}
	}
	return id, timeout, nil
}

// validSessionID accepts RFC 2326 session ids: 1*( ALPHA | DIGIT | safe ),
// safe being "$-_.+", at most 256 bytes.
func validSessionID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '$', c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

// FormatSession formats a Session header value: "id;timeout=60", or just
// "id" when timeout <= 0. RFC 2326's default timeout is 60 s.
func FormatSession(id string, timeout int) string {
	if timeout <= 0 {
		return id
	}
	return id + ";timeout=" + strconv.Itoa(timeout)
}
