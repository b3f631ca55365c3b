package m2m

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/camagent/camagent/encode/annexb"
)

// What the driver writes into Capture buffers is device data: it is
// checked, never trusted.

// MaxNALUs bounds the NAL units of one coded buffer (annexb.MaxNALUs).
const MaxNALUs = annexb.MaxNALUs

var (
	errNoStartCode = fmt.Errorf("m2m: coded buffer does not begin with an Annex-B start code (%w)", annexb.ErrNoStartCode)
	errTooMany     = fmt.Errorf("m2m: coded buffer holds more than %d NAL units (%w)", MaxNALUs, annexb.ErrTooMany)
	errFWHT        = errors.New("m2m: bad FWHT frame")
)

// splitAnnexB appends to dst the NAL units of the coded buffer (annexb.Split).
func splitAnnexB(dst [][]byte, buf []byte) ([][]byte, error) {
	dst, err := annexb.Split(dst, buf)
	switch {
	case errors.Is(err, annexb.ErrNoStartCode):
		return dst, errNoStartCode
	case errors.Is(err, annexb.ErrTooMany):
		return dst, errTooMany
	}
	return dst, nil
}

// H.264 NAL unit types this package looks at.
const (
	nalSlice = 1
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8
)

func nalType(n []byte) int { return int(n[0] & 0x1f) }

// isVCL reports whether a NAL unit carries picture data (types 1 to 5).
func isVCL(n []byte) bool { t := nalType(n); return t >= nalSlice && t <= nalIDR }

// FWHT is the FourCC of the kernel's vicodec codec (V4L2_PIX_FMT_FWHT).
const fwhtFourCC = 0x54485746

// FWHT frame header (struct fwht_cframe_hdr in the kernel's
// codec-fwht.h): two magic words, then big-endian fields.
const (
	fwhtHeaderSize = 44
	fwhtMagic1     = 0x4f4f4f4f
	fwhtMagic2     = 0xffffffff
	fwhtFlIFrame   = 1 << 10 // V4L2_FWHT_FL_I_FRAME
	fwhtMaxVersion = 3
)

// FWHTHeader is the part of an FWHT frame header this package uses.
type FWHTHeader struct {
	Version, Width, Height, Flags uint32
	// Size is the compressed payload after the header, in bytes.
	Size uint32
}

// IFrame reports whether the frame is intra-coded.
func (h FWHTHeader) IFrame() bool { return h.Flags&fwhtFlIFrame != 0 }

// ParseFWHT reads the header of one FWHT frame and checks it against the
// bytes that follow.
func ParseFWHT(b []byte) (FWHTHeader, error) {
	if len(b) < fwhtHeaderSize {
		return FWHTHeader{}, fmt.Errorf("%w: %d bytes, shorter than its header", errFWHT, len(b))
	}
	if binary.BigEndian.Uint32(b[0:]) != fwhtMagic1 || binary.BigEndian.Uint32(b[4:]) != fwhtMagic2 {
		return FWHTHeader{}, fmt.Errorf("%w: no magic", errFWHT)
	}
	be := func(i int) uint32 { return binary.BigEndian.Uint32(b[8+4*i:]) }
	h := FWHTHeader{Version: be(0), Width: be(1), Height: be(2), Flags: be(3), Size: be(8)}
	if h.Version == 0 || h.Version > fwhtMaxVersion {
		return FWHTHeader{}, fmt.Errorf("%w: version %d", errFWHT, h.Version)
	}
	if h.Width == 0 || h.Height == 0 || h.Width > 1<<14 || h.Height > 1<<14 {
		return FWHTHeader{}, fmt.Errorf("%w: size %dx%d", errFWHT, h.Width, h.Height)
	}
	if uint64(h.Size) > uint64(len(b)-fwhtHeaderSize) {
		return FWHTHeader{}, fmt.Errorf("%w: payload of %d bytes in %d", errFWHT, h.Size, len(b)-fwhtHeaderSize)
	}
	return h, nil
}

// cacheIfNew stores a copy of nal in p unless p holds the same bytes.
func cacheIfNew(p *atomic.Pointer[[]byte], nal []byte) {
	if old := p.Load(); old == nil || !bytes.Equal(*old, nal) {
		c := bytes.Clone(nal)
		p.Store(&c)
	}
}
