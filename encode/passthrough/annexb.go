package passthrough

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxNALUs bounds the NAL units of one access unit, so a corrupt frame
// cannot grow the reused NAL unit list without limit. Cameras emitting many
// slices per picture stay far below it.
const MaxNALUs = 256

var (
	errNoStartCode = errors.New("frame does not begin with an Annex-B start code")
	errNoNALUs     = errors.New("frame holds no NAL unit")
	errTooMany     = fmt.Errorf("frame holds more than %d NAL units", MaxNALUs)
)

var startCode = []byte{0, 0, 1}

// splitAnnexB appends to dst the NAL units (without start codes, as slices
// of buf) of the Annex-B bytes in buf, which must begin with zero bytes and
// a start code. Empty NAL units are skipped and trailing zero bytes
// (trailing_zero_8bits, or the zero_byte of the next four-byte start code)
// are trimmed. It does not allocate once dst has grown to the frame's NAL
// unit count.
func splitAnnexB(dst [][]byte, buf []byte) ([][]byte, error) {
	sc := bytes.Index(buf, startCode)
	if sc < 0 {
		return dst, errNoStartCode
	}
	for _, c := range buf[:sc] {
		if c != 0 {
			return dst, errNoStartCode
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
			return dst, errTooMany
		}
		dst = append(dst, buf[p:end])
		n++
	}
	if n == 0 {
		return dst, errNoNALUs
	}
	return dst, nil
}
