// Package rtsp is the RTSP 1.0 (RFC 2326) wire layer of camagent's server:
// request parsing on a connection that mixes requests with interleaved
// RTP/RTCP frames, response writing, the Transport and Session headers, and
// server-side Basic/Digest authentication. It does no network I/O of its own
// beyond the io.Reader and io.Writer it is given, so every parser is fuzzable.
package rtsp

import (
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
)

// Header holds RTSP header fields keyed by canonical name (see CanonicalKey).
// A field may have several values, in the order they were received or added.
type Header map[string][]string

// rtspSpelling maps the net/textproto canonical form of header names whose
// conventional RTSP spelling differs to that spelling.
var rtspSpelling = map[string]string{
	"Cseq":             "CSeq",
	"Www-Authenticate": "WWW-Authenticate",
	"Rtp-Info":         "RTP-Info",
}

// isRTSPSpelling reports whether s is already one of the special spellings.
func isRTSPSpelling(s string) bool {
	switch s {
	case "CSeq", "WWW-Authenticate", "RTP-Info":
		return true
	}
	return false
}

// CanonicalKey returns the canonical form of a header name: the net/textproto
// form ("Content-Length", "Transport"), except for the names RTSP spells
// differently ("CSeq", "WWW-Authenticate", "RTP-Info"). It does not allocate
// when s is already canonical.
func CanonicalKey(s string) string {
	if isRTSPSpelling(s) {
		return s
	}
	c := textproto.CanonicalMIMEHeaderKey(s)
	if r, ok := rtspSpelling[c]; ok {
		return r
	}
	return c
}

// Get returns the first value of the field, or "".
func (h Header) Get(key string) string {
	v := h[CanonicalKey(key)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Values returns all values of the field.
func (h Header) Values(key string) []string { return h[CanonicalKey(key)] }

// Set replaces the field's values with value.
func (h Header) Set(key, value string) { h[CanonicalKey(key)] = []string{value} }

// Add appends value to the field's values.
func (h Header) Add(key, value string) {
	k := CanonicalKey(key)
	h[k] = append(h[k], value)
}

// Del removes the field.
func (h Header) Del(key string) { delete(h, CanonicalKey(key)) }

// Request is one RTSP request as read from a client.
type Request struct {
	Method string // e.g. "DESCRIBE"; case as received (RTSP methods are case-sensitive)
	URL    string // raw Request-URI, e.g. "rtsp://cam:8554/live" or "*"
	Header Header
	Body   []byte // nil when there is no Content-Length
}

// ParseURL parses the raw Request-URI with net/url.
func (r *Request) ParseURL() (*url.URL, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("rtsp: request URL: %w", err)
	}
	return u, nil
}

// Response is an RTSP response to be written to a client. The caller copies
// the request's CSeq into Header.
type Response struct {
	StatusCode int
	Header     Header
	Body       []byte
}

// ErrBadResponse is returned by Response.Write for a response that cannot be
// written safely (bad status code, or a header name or value that would
// break the framing).
var ErrBadResponse = errors.New("rtsp: bad response")

// Write writes the response in one Write call: the status line
// "RTSP/1.0 <code> <reason>", CSeq first, then the other fields sorted by
// name, then the body. When Body is non-empty, Content-Length is set to its
// length, replacing any value in Header.
func (r *Response) Write(w io.Writer) error {
	buf, err := r.AppendTo(make([]byte, 0, 256+len(r.Body)))
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// AppendTo appends the encoded response to b, for callers that reuse a buffer.
func (r *Response) AppendTo(b []byte) ([]byte, error) {
	if r.StatusCode < 100 || r.StatusCode > 999 {
		return b, fmt.Errorf("%w: status code %d", ErrBadResponse, r.StatusCode)
	}
	reason := StatusText(r.StatusCode)
	if reason == "" {
		reason = "Status " + strconv.Itoa(r.StatusCode)
	}
	b = append(b, "RTSP/1.0 "...)
	b = strconv.AppendInt(b, int64(r.StatusCode), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\n"...)

	keys := make([]string, 0, len(r.Header))
	if _, ok := r.Header["CSeq"]; ok {
		keys = append(keys, "CSeq")
	}
	for k := range r.Header {
		if k == "CSeq" || (len(r.Body) > 0 && k == "Content-Length") {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) > 1 && keys[0] == "CSeq" {
		slices.Sort(keys[1:])
	} else {
		slices.Sort(keys)
	}
	for _, k := range keys {
		if !validHeaderName(k) {
			return b, fmt.Errorf("%w: header name %q", ErrBadResponse, k)
		}
		for _, v := range r.Header[k] {
			if !validHeaderValue(v) {
				return b, fmt.Errorf("%w: value of %s", ErrBadResponse, k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if len(r.Body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, r.Body...)
	return b, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 2616 token.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return false
	}
	return true
}

var statusText = map[int]string{
	100: "Continue",
	200: "OK",
	201: "Created",
	250: "Low on Storage Space",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Moved Temporarily",
	303: "See Other",
	304: "Not Modified",
	305: "Use Proxy",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Time-out",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Request Entity Too Large",
	414: "Request-URI Too Large",
	415: "Unsupported Media Type",
	451: "Parameter Not Understood",
	452: "Conference Not Found",
	453: "Not Enough Bandwidth",
	454: "Session Not Found",
	455: "Method Not Valid in This State",
	456: "Header Field Not Valid for Resource",
	457: "Invalid Range",
	458: "Parameter Is Read-Only",
	459: "Aggregate Operation Not Allowed",
	460: "Only Aggregate Operation Allowed",
	461: "Unsupported Transport",
	462: "Destination Unreachable",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Time-out",
	505: "RTSP Version Not Supported",
	551: "Option Not Supported",
}

// StatusText returns the RFC 2326 reason phrase of code, or "" if unknown.
func StatusText(code int) string { return statusText[code] }
