package rtsp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadAuthorization is returned by ParseAuthorization, wrapped with detail.
var ErrBadAuthorization = errors.New("rtsp: bad Authorization header")

// Token68Key is the params key under which ParseAuthorization returns a
// token68 credential, the base64 "user:pass" of the Basic scheme.
const Token68Key = "token68"

const (
	maxAuthorizationBytes  = 4096
	maxAuthorizationParams = 32
)

// ParseAuthorization parses an Authorization header value: a scheme
// (returned in lower case, e.g. "digest" or "basic") then either a token68
// (returned as params[Token68Key]) or comma-separated name=value pairs,
// values being tokens or quoted strings with backslash escapes. Names are
// returned in lower case; a repeated name is an error. The input is limited
// to 4096 bytes and 32 parameters.
func ParseAuthorization(s string) (scheme string, params map[string]string, err error) {
	if len(s) > maxAuthorizationBytes {
		return "", nil, fmt.Errorf("%w: too long", ErrBadAuthorization)
	}
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 || (i < len(s) && s[i] != ' ' && s[i] != '\t') {
		return "", nil, fmt.Errorf("%w: scheme", ErrBadAuthorization)
	}
	scheme = strings.ToLower(s[:i])
	rest := strings.Trim(s[i:], " \t")
	params = make(map[string]string, 8)
	if rest == "" {
		return scheme, params, nil
	}
	if isToken68(rest) {
		params[Token68Key] = rest
		return scheme, params, nil
	}
	p := 0
	for p < len(rest) {
		// Skip separators and whitespace; empty list elements are allowed.
		for p < len(rest) && (rest[p] == ',' || rest[p] == ' ' || rest[p] == '\t') {
			p++
		}
		if p == len(rest) {
			break
		}
		start := p
		for p < len(rest) && isTokenChar(rest[p]) {
			p++
		}
		if p == start {
			return "", nil, fmt.Errorf("%w: parameter name", ErrBadAuthorization)
		}
		name := strings.ToLower(rest[start:p])
		for p < len(rest) && (rest[p] == ' ' || rest[p] == '\t') {
			p++
		}
		if p == len(rest) || rest[p] != '=' {
			return "", nil, fmt.Errorf("%w: %q has no value", ErrBadAuthorization, name)
		}
		p++
		for p < len(rest) && (rest[p] == ' ' || rest[p] == '\t') {
			p++
		}
		var val string
		if p < len(rest) && rest[p] == '"' {
			val, p, err = unquote(rest, p)
			if err != nil {
				return "", nil, err
			}
		} else {
			start := p
			for p < len(rest) && isTokenChar(rest[p]) {
				p++
			}
			val = rest[start:p]
		}
		// After a value: whitespace, then a comma or the end.
		for p < len(rest) && (rest[p] == ' ' || rest[p] == '\t') {
			p++
		}
		if p < len(rest) && rest[p] != ',' {
			return "", nil, fmt.Errorf("%w: junk after %q", ErrBadAuthorization, name)
		}
		if _, dup := params[name]; dup {
			return "", nil, fmt.Errorf("%w: repeated %q", ErrBadAuthorization, name)
		}
		if len(params) == maxAuthorizationParams {
			return "", nil, fmt.Errorf("%w: too many parameters", ErrBadAuthorization)
		}
		params[name] = val
	}
	return scheme, params, nil
}

// unquote reads the quoted string starting at s[p] == '"' and returns its
// unescaped value and the index after the closing quote.
func unquote(s string, p int) (string, int, error) {
	p++ // opening quote
	start := p
	for p < len(s) && s[p] != '"' && s[p] != '\\' {
		p++
	}
	if p < len(s) && s[p] == '"' { // no escapes: no copy
		return s[start:p], p + 1, nil
	}
	var b strings.Builder
	b.WriteString(s[start:p])
	for p < len(s) {
		switch c := s[p]; c {
		case '"':
			return b.String(), p + 1, nil
		case '\\':
			if p+1 == len(s) {
				return "", 0, fmt.Errorf("%w: unterminated quoted string", ErrBadAuthorization)
			}
			b.WriteByte(s[p+1])
			p += 2
		default:
			b.WriteByte(c)
			p++
		}
	}
	return "", 0, fmt.Errorf("%w: unterminated quoted string", ErrBadAuthorization)
}

// isToken68 reports whether s is an RFC 7235 token68:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			i++
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}
