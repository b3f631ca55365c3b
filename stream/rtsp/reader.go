package rtsp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors returned by Reader. After any of them the connection's framing is
// lost: the server should answer with StatusForError(err) and close.
var (
	// ErrLineTooLong: a request line or header line exceeds Limits.MaxLineBytes.
	ErrLineTooLong = errors.New("rtsp: line too long")
	// ErrHeaderTooLarge: the header block exceeds MaxHeaderBytes or MaxHeaders.
	ErrHeaderTooLarge = errors.New("rtsp: header too large")
	// ErrBodyTooLarge: Content-Length exceeds Limits.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("rtsp: body too large")
	// ErrBadRequest: malformed request; wrapped with the detail.
	ErrBadRequest = errors.New("rtsp: bad request")
	// ErrUnsupportedVersion: the request line's version is not RTSP/1.0.
	ErrUnsupportedVersion = errors.New("rtsp: unsupported version")
)

// StatusForError maps an error from Reader to the status code the server
// should answer with before closing: 414, 400 (header too large, bad
// request), 413 or 505. It returns 0 for I/O errors, where nothing should be
// written.
func StatusForError(err error) int {
	switch {
	case errors.Is(err, ErrLineTooLong):
		return 414
	case errors.Is(err, ErrBodyTooLarge):
		return 413
	case errors.Is(err, ErrHeaderTooLarge), errors.Is(err, ErrBadRequest):
		return 400
	case errors.Is(err, ErrUnsupportedVersion):
		return 505
	}
	return 0
}

// Limits bounds what a Reader accepts. Zero fields take the defaults.
type Limits struct {
	MaxLineBytes   int // one request or header line without CRLF; default 4096
	MaxHeaderBytes int // request line plus all header lines; default 16 KiB
	MaxHeaders     int // number of header lines; default 64
	MaxBodyBytes   int // Content-Length; default 64 KiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = 4096
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = 64
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 64 << 10
	}
	return l
}

// InterleavedFrame is an RTP or RTCP packet carried on the RTSP connection
// (RFC 2326 §10.12): '$', channel, 16-bit big-endian length, data.
type InterleavedFrame struct {
	Channel uint8
	// Data aliases the Reader's buffer: it is valid only until the next
	// call to Next or ReadRequest.
	Data []byte
}

// Reader reads RTSP requests and interleaved frames from one connection.
// It is not safe for concurrent use. Every call consumes input or returns,
// so it cannot loop forever; read deadlines are the caller's (set them on
// the net.Conn).
type Reader struct {
	br    *bufio.Reader
	lim   Limits
	line  []byte // reused for lines longer than the bufio buffer
	frame InterleavedFrame
	data  []byte // reused frame payload buffer
}

// NewReader returns a Reader over r. If r is a *bufio.Reader it is used
// directly, so bytes it already buffered are not lost.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 4096)
	}
	return &Reader{br: br, lim: lim.withDefaults()}
}

// Next reads whatever comes next on the connection: either a request
// (req != nil) or an interleaved frame (frame != nil, reused between calls,
// no allocation). At end of input it returns io.EOF; a connection closed in
// the middle of a message gives io.ErrUnexpectedEOF.
func (r *Reader) Next() (req *Request, frame *InterleavedFrame, err error) {
	// Empty lines between messages are tolerated (RFC 2616 §4.1
	// robustness); they count against the header budget, so this loop is
	// bounded.
	budget := r.lim.MaxHeaderBytes
	for {
		b, err := r.br.Peek(1)
		if err != nil {
			return nil, nil, err
		}
		switch b[0] {
		case '$':
			f, err := r.readFrame()
			return nil, f, err
		case '\r', '\n':
			line, err := r.readLine(&budget)
			if err != nil {
				return nil, nil, eofIsUnexpected(err)
			}
			if len(line) != 0 {
				return nil, nil, fmt.Errorf("%w: line starts with CR", ErrBadRequest)
			}
			continue
		}
		req, err = r.readRequest(budget)
		return req, nil, err
	}
}

// ReadRequest reads the next request, discarding any interleaved frames
// before it.
func (r *Reader) ReadRequest() (*Request, error) {
	for {
		req, _, err := r.Next()
		if err != nil || req != nil {
			return req, err
		}
	}
}

func (r *Reader) readFrame() (*InterleavedFrame, error) {
	h, err := r.br.Peek(4)
	if err != nil {
		return nil, eofIsUnexpected(err)
	}
	ch := h[1]
	n := int(h[2])<<8 | int(h[3])
	if _, err := r.br.Discard(4); err != nil {
		return nil, err
	}
	if cap(r.data) < n {
		r.data = make([]byte, n, max(n, 2048))
	}
	r.data = r.data[:n]
	if _, err := io.ReadFull(r.br, r.data); err != nil {
		return nil, eofIsUnexpected(err)
	}
	r.frame = InterleavedFrame{Channel: ch, Data: r.data}
	return &r.frame, nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine returns the next line without its LF or CRLF ending. The slice is
// valid until the next read. total is the remaining header byte budget.
func (r *Reader) readLine(budget *int) ([]byte, error) {
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.line)+len(chunk) > r.lim.MaxLineBytes+2 {
			return nil, ErrLineTooLong
		}
		*budget -= len(chunk)
		if *budget < 0 {
			return nil, ErrHeaderTooLarge
		}
		switch {
		case err == nil:
			var line []byte
			if len(r.line) == 0 {
				line = chunk // common case: no copy
			} else {
				r.line = append(r.line, chunk...)
				line = r.line
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > r.lim.MaxLineBytes {
				return nil, ErrLineTooLong
			}
			return line, nil
		case err == bufio.ErrBufferFull:
			r.line = append(r.line, chunk...)
		case err == io.EOF && len(r.line)+len(chunk) == 0:
			return nil, io.EOF
		default:
			return nil, eofIsUnexpected(err)
		}
	}
}

func (r *Reader) readRequest(budget int) (*Request, error) {
	line, err := r.readLine(&budget)
	if err != nil {
		return nil, eofIsUnexpected(err)
	}
	req := &Request{Header: make(Header, 8)}
	if err := parseRequestLine(string(line), req); err != nil {
		return nil, err
	}

	var last string // key of the previous field, for folded lines
	n := 0
	for {
		line, err = r.readLine(&budget)
		if err != nil {
			return nil, eofIsUnexpected(err)
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' { // obsolete line folding
			if last == "" {
				return nil, fmt.Errorf("%w: continuation line without a field", ErrBadRequest)
			}
			vs := req.Header[last]
			vs[len(vs)-1] += " " + string(bytes.TrimSpace(line))
			continue
		}
		n++
		if n > r.lim.MaxHeaders {
			return nil, ErrHeaderTooLarge
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("%w: header line without a name", ErrBadRequest)
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenChar(c) {
				return nil, fmt.Errorf("%w: bad header name %q", ErrBadRequest, name)
			}
		}
		last = CanonicalKey(string(name))
		req.Header[last] = append(req.Header[last], string(bytes.Trim(line[colon+1:], " \t")))
	}

	if cl := req.Header["Content-Length"]; len(cl) > 0 {
		size, err := parseContentLength(cl, r.lim.MaxBodyBytes)
		if err != nil {
			return nil, err
		}
		if size > 0 {
			req.Body = make([]byte, size)
			if _, err := io.ReadFull(r.br, req.Body); err != nil {
				return nil, eofIsUnexpected(err)
			}
		}
	}
	return req, nil
}

func parseRequestLine(line string, req *Request) error {
	method, rest, ok1 := strings.Cut(line, " ")
	uri, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || uri == "" || strings.IndexByte(version, ' ') >= 0 {
		if strings.HasPrefix(line, "RTSP/") {
			return fmt.Errorf("%w: got a response, not a request", ErrBadRequest)
		}
		return fmt.Errorf("%w: malformed request line", ErrBadRequest)
	}
	if strings.HasPrefix(method, "RTSP/") {
		return fmt.Errorf("%w: got a response, not a request", ErrBadRequest)
	}
	for i := 0; i < len(method); i++ {
		if !isTokenChar(method[i]) {
			return fmt.Errorf("%w: bad method", ErrBadRequest)
		}
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: bad request URI", ErrBadRequest)
		}
	}
	if version != "RTSP/1.0" {
		return fmt.Errorf("%w: %.16q", ErrUnsupportedVersion, version)
	}
	req.Method = method
	req.URL = uri
	return nil
}

func parseContentLength(vals []string, limit int) (int, error) {
	size := -1
	for _, v := range vals {
		if v == "" || len(v) > 10 {
			return 0, fmt.Errorf("%w: bad Content-Length", ErrBadRequest)
		}
		n := 0
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w: bad Content-Length", ErrBadRequest)
			}
			n = n*10 + int(c-'0')
		}
		if size >= 0 && n != size {
			return 0, fmt.Errorf("%w: conflicting Content-Length", ErrBadRequest)
		}
		size = n
	}
	if size > limit {
		return 0, ErrBodyTooLarge
	}
	return size, nil
}
