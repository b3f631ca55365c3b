package passthrough

import (
	"errors"
	"fmt"

	"github.com/camagent/camagent/encode/annexb"
)

// MaxNALUs bounds the NAL units of one access unit (annexb.MaxNALUs).
const MaxNALUs = annexb.MaxNALUs

var (
	errNoStartCode = fmt.Errorf("frame does not begin with an Annex-B start code (%w)", annexb.ErrNoStartCode)
	errNoNALUs     = errors.New("frame holds no NAL unit")
	errTooMany     = fmt.Errorf("frame holds more than %d NAL units (%w)", MaxNALUs, annexb.ErrTooMany)
)

// splitAnnexB appends to dst the NAL units of the frame's Annex-B bytes
// (annexb.Split), and refuses a frame with none.
func splitAnnexB(dst [][]byte, buf []byte) ([][]byte, error) {
	n := len(dst)
	dst, err := annexb.Split(dst, buf)
	switch {
	case errors.Is(err, annexb.ErrNoStartCode):
		return dst, errNoStartCode
	case errors.Is(err, annexb.ErrTooMany):
		return dst, errTooMany
	case len(dst) == n:
		return dst, errNoNALUs
	}
	return dst, nil
}
