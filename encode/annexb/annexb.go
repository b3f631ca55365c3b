// Package annexb splits H.264 Annex-B byte streams (ITU-T H.264 Annex B)
// into NAL units, without allocating once the caller's list has grown. What
// it splits is device data (a camera's or a hardware encoder's output): it
// is bounded and checked, never trusted.
package annexb

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxNALUs bounds the NAL units of one buffer, so a corrupt one cannot grow
// the caller's list without limit. Encoders emitting many slices per
// picture stay far below it.
const MaxNALUs = 256

var (
	// ErrNoStartCode: the buffer does not begin with zero bytes and a start code.
	ErrNoStartCode = errors.New("annexb: buffer does not begin with a start code")
	// ErrTooMany: the buffer holds more than MaxNALUs NAL units.
	ErrTooMany = fmt.Errorf("annexb: buffer holds more than %d NAL units", MaxNALUs)
)

var startCode = []byte{0, 0, 1}

// Split appends to dst the NAL units (without start codes, as slices of buf)
// of the Annex-B bytes in buf, which must begin with zero bytes and a start
// code. Empty NAL units are skipped and trailing zero bytes
// (trailing_zero_8bits, or the zero_byte of the next four-byte start code)
// are trimmed.
func Split(dst [][]byte, buf []byte) ([][]byte, error) {
	sc := bytes.Index(buf, startCode)
	if sc < 0 {
		return dst, ErrNoStartCode
	}
	for _, c := range buf[:sc] {
		if c != 0 {
			return dst, ErrNoStartCode
		}
	}
	n := 0
	for sc >= 0 {
		p := sc + 3
		end := len(buf)
		sc = -1
		if i := bytes.Index(buf[p:], startCode); i >= 0 {
			sc = p + i
			end = sc
		}
		for end > p && buf[end-1] == 0 {
			end--
		}
		if end == p {
			continue
		}
		if n == MaxNALUs {
			return dst, ErrTooMany
		}
		dst = append(dst, buf[p:end])
		n++
	}
	return dst, nil
}
