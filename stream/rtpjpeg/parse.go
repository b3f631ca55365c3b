package rtpjpeg

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxDimension is the largest width or height RFC 2435 can carry: the
// header stores them in units of 8 pixels in one byte.
const MaxDimension = 255 * 8

// Errors returned by Parse, CheckMode and Packetize, wrapped with details.
var (
	// ErrMalformed: the data is not a well-formed JPEG image.
	ErrMalformed = errors.New("rtpjpeg: malformed JPEG")
	// ErrUnsupported: a valid JPEG that RFC 2435 cannot carry (progressive,
	// 12-bit, not YCbCr 4:2:2/4:2:0, non-standard Huffman tables...).
	ErrUnsupported = errors.New("rtpjpeg: unsupported JPEG")
	// ErrDimensions: a width or height RFC 2435 cannot carry.
	ErrDimensions = errors.New("rtpjpeg: unsupported dimensions")
)

// JPEG markers (ITU-T T.81 Table B.1).
const (
	markerSOF0 = 0xc0
	markerDHT  = 0xc4
	markerJPG  = 0xc8
	markerDAC  = 0xcc
	markerRST0 = 0xd0
	markerRST7 = 0xd7
	markerSOI  = 0xd8
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerDQT  = 0xdb
	markerDRI  = 0xdd
	markerAPP0 = 0xe0
	markerAPPF = 0xef
	markerCOM  = 0xfe
)

// RFC 2435 types (§4.1); TypeRestart is added when a restart interval is set.
const (
	Type422     = 0
	Type420     = 1
	TypeRestart = 64
)

// CheckMode reports whether RFC 2435 can carry images of this size: width
// and height must be positive multiples of 8, at most MaxDimension.
func CheckMode(width, height int) error {
	for _, d := range [2]struct {
		name string
		v    int
	}{{"width", width}, {"height", height}} {
		if d.v <= 0 || d.v%8 != 0 || d.v > MaxDimension {
			return fmt.Errorf("%w: %s %d; RFC 2435 needs a multiple of 8 between 8 and %d",
				ErrDimensions, d.name, d.v, MaxDimension)
		}
	}
	return nil
}

// Image is what RFC 2435 carries of a baseline JPEG. Its slices alias the
// parsed data.
type Image struct {
	Width, Height int
	// Type is the RFC 2435 type: Type422 or Type420, plus TypeRestart when
	// RestartInterval is not zero.
	Type            uint8
	RestartInterval uint16
	// Quant holds the luminance and chrominance quantization tables, 64
	// bytes each in the zigzag order of the DQT segment.
	Quant [2][]byte
	// Scan is the entropy-coded data, up to but without the EOI marker.
	Scan []byte
}

type component struct{ id, sampling, quant byte }

// Parse checks that b holds one baseline JPEG image RFC 2435 can carry and
// returns its parts. It accepts: SOI; any APPn and COM segments; DQT with
// 8-bit tables of id 0 or 1; DHT only if it defines the standard tables of
// ITU-T T.81 Annex K.3 (RFC 2435 receivers always decode with those, so any
// other table would be decoded as garbage: such images are rejected with
// ErrUnsupported rather than sent); an optional DRI; SOF0 with 8-bit
// precision and three components sampled 2x1,1x1,1x1 (4:2:2) or 2x2,1x1,1x1
// (4:2:0), luminance using one quantization table and both chrominance
// components the other; one SOS over the three components with Huffman
// tables 0 (luminance) and 1 (chrominance); entropy-coded data up to EOI.
// Missing DHT is fine (UVC cameras omit it). Bytes after EOI are ignored.
func Parse(b []byte) (Image, error) {
	var img Image
	if len(b) < 2 || b[0] != 0xff || b[1] != markerSOI {
		return img, fmt.Errorf("%w: no SOI marker at the start", ErrMalformed)
	}
	var (
		quant   [2][]byte
		comps   [3]component
		haveSOF bool
	)
	i := 2
	for {
		if i >= len(b) {
			return img, fmt.Errorf("%w: truncated before SOS", ErrMalformed)
		}
		if b[i] != 0xff {
			return img, fmt.Errorf("%w: expected a marker at offset %d, found 0x%02X", ErrMalformed, i, b[i])
		}
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return img, fmt.Errorf("%w: truncated before SOS", ErrMalformed)
		}
		m := b[i]
		i++
		switch {
		case m == markerSOI || m == markerEOI || m == 0x01 || m == 0x00 || (m >= markerRST0 && m <= markerRST7):
			return img, fmt.Errorf("%w: unexpected marker 0x%02X at offset %d before SOS", ErrMalformed, m, i-2)
		}
		if i+2 > len(b) {
			return img, fmt.Errorf("%w: truncated segment 0x%02X", ErrMalformed, m)
		}
		l := int(b[i])<<8 | int(b[i+1])
		if l < 2 || i+l > len(b) {
			return img, fmt.Errorf("%w: segment 0x%02X of length %d at offset %d overruns the data",
				ErrMalformed, m, l, i-2)
		}
		seg := b[i+2 : i+l]
		i += l

		switch {
		case m == markerDQT:
			if err := parseDQT(seg, &quant); err != nil {
				return img, err
			}
		case m == markerDHT:
			if err := checkDHT(seg); err != nil {
				return img, err
			}
		case m == markerDRI:
			if len(seg) != 2 {
				return img, fmt.Errorf("%w: DRI of length %d", ErrMalformed, l)
			}
			img.RestartInterval = uint16(seg[0])<<8 | uint16(seg[1])
		case m == markerSOF0:
			if haveSOF {
				return img, fmt.Errorf("%w: second SOF", ErrMalformed)
			}
			haveSOF = true
			if err := parseSOF(seg, &img, &comps); err != nil {
				return img, err
			}
		case m > markerSOF0 && m <= 0xcf && m != markerDHT && m != markerJPG && m != markerDAC:
			return img, fmt.Errorf("%w: SOF%d (%s) frame; only baseline (SOF0) can be sent",
				ErrUnsupported, m-markerSOF0, sofName(m))
		case m == markerDAC:
			return img, fmt.Errorf("%w: arithmetic coding (DAC)", ErrUnsupported)
		case m >= markerAPP0 && m <= markerAPPF, m == markerCOM:
			// Application data and comments are not sent.
		case m == markerSOS:
			if !haveSOF {
				return img, fmt.Errorf("%w: SOS before SOF", ErrMalformed)
			}
			if err := checkSOS(seg, &comps); err != nil {
				return img, err
			}
			img.Quant = [2][]byte{quant[comps[0].quant], quant[comps[1].quant]}
			if img.Quant[0] == nil || img.Quant[1] == nil {
				return img, fmt.Errorf("%w: quantization table used by SOF not defined", ErrMalformed)
			}
			if img.RestartInterval != 0 {
				img.Type += TypeRestart
			}
			scan, err := scanData(b[i:])
			if err != nil {
				return img, err
			}
			img.Scan = scan
			return img, nil
		default:
			return img, fmt.Errorf("%w: marker 0x%02X", ErrUnsupported, m)
		}
	}
}

func parseDQT(seg []byte, quant *[2][]byte) error {
	if len(seg) == 0 {
		return fmt.Errorf("%w: empty DQT", ErrMalformed)
	}
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&0x0f
		if pq != 0 {
			return fmt.Errorf("%w: 16-bit quantization table %d", ErrUnsupported, tq)
		}
		if tq > 1 {
			return fmt.Errorf("%w: quantization table id %d (only 0 and 1)", ErrUnsupported, tq)
		}
		if len(seg) < 65 {
			return fmt.Errorf("%w: truncated DQT", ErrMalformed)
		}
		quant[tq] = seg[1:65]
		seg = seg[65:]
	}
	return nil
}

func checkDHT(seg []byte) error {
	if len(seg) == 0 {
		return fmt.Errorf("%w: empty DHT", ErrMalformed)
	}
	for len(seg) > 0 {
		tc, th := seg[0]>>4, seg[0]&0x0f
		if len(seg) < 17 {
			return fmt.Errorf("%w: truncated DHT", ErrMalformed)
		}
		n := 0
		for _, c := range seg[1:17] {
			n += int(c)
		}
		if len(seg) < 17+n {
			return fmt.Errorf("%w: truncated DHT", ErrMalformed)
		}
		if tc > 1 || th > 1 || !bytes.Equal(seg[1:17+n], standardHuffman[tc][th]) {
			return fmt.Errorf("%w: Huffman table class %d id %d is not the standard one RFC 2435 receivers assume",
				ErrUnsupported, tc, th)
		}
		seg = seg[17+n:]
	}
	return nil
}

func parseSOF(seg []byte, img *Image, comps *[3]component) error {
	if len(seg) < 6 {
		return fmt.Errorf("%w: truncated SOF0", ErrMalformed)
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples (only 8)", ErrUnsupported, seg[0])
	}
	img.Height = int(seg[1])<<8 | int(seg[2])
	img.Width = int(seg[3])<<8 | int(seg[4])
	if seg[5] != 3 {
		return fmt.Errorf("%w: %d components (only 3, YCbCr)", ErrUnsupported, seg[5])
	}
	if len(seg) != 6+3*3 {
		return fmt.Errorf("%w: SOF0 of length %d", ErrMalformed, len(seg)+2)
	}
	for k := range comps {
		c := seg[6+3*k:]
		comps[k] = component{id: c[0], sampling: c[1], quant: c[2]}
		if c[2] > 1 {
			return fmt.Errorf("%w: component %d uses quantization table %d (only 0 and 1)", ErrUnsupported, k, c[2])
		}
	}
	if comps[0].id == comps[1].id || comps[0].id == comps[2].id || comps[1].id == comps[2].id {
		return fmt.Errorf("%w: duplicate component ids", ErrMalformed)
	}
	switch {
	case comps[1].sampling != 0x11 || comps[2].sampling != 0x11:
		return fmt.Errorf("%w: chrominance sampling %02X/%02X (only 1x1)", ErrUnsupported, comps[1].sampling, comps[2].sampling)
	case comps[0].sampling == 0x21:
		img.Type = Type422
	case comps[0].sampling == 0x22:
		img.Type = Type420
	default:
		return fmt.Errorf("%w: luminance sampling %dx%d (only 2x1 for 4:2:2 or 2x2 for 4:2:0)",
			ErrUnsupported, comps[0].sampling>>4, comps[0].sampling&0x0f)
	}
	if comps[1].quant != comps[2].quant {
		return fmt.Errorf("%w: Cb and Cr use different quantization tables", ErrUnsupported)
	}
	return CheckMode(img.Width, img.Height)
}

func checkSOS(seg []byte, comps *[3]component) error {
	if len(seg) < 1 || seg[0] != 3 {
		return fmt.Errorf("%w: scan not over all three components", ErrUnsupported)
	}
	if len(seg) != 1+2*3+3 {
		return fmt.Errorf("%w: SOS of length %d", ErrMalformed, len(seg)+2)
	}
	for k, want := range [3]byte{0x00, 0x11, 0x11} {
		if seg[1+2*k] != comps[k].id {
			return fmt.Errorf("%w: scan components out of frame order", ErrUnsupported)
		}
		if seg[2+2*k] != want {
			return fmt.Errorf("%w: component %d uses Huffman tables %02X; RFC 2435 needs %02X",
				ErrUnsupported, k, seg[2+2*k], want)
		}
	}
	if seg[7] != 0 || seg[8] != 63 || seg[9] != 0 {
		return fmt.Errorf("%w: spectral selection %d..%d, approximation %02X (not baseline)",
			ErrUnsupported, seg[7], seg[8], seg[9])
	}
	return nil
}

// scanData returns the entropy-coded data of b up to EOI, checking that the
// only markers in it are stuffed zeros, fill bytes and RSTn.
func scanData(b []byte) ([]byte, error) {
	i := 0
	for {
		k := bytes.IndexByte(b[i:], 0xff)
		if k < 0 {
			return nil, fmt.Errorf("%w: no EOI marker", ErrMalformed)
		}
		i += k + 1
		if i >= len(b) {
			return nil, fmt.Errorf("%w: no EOI marker", ErrMalformed)
		}
		switch m := b[i]; {
		case m == 0x00 || (m >= markerRST0 && m <= markerRST7):
			i++
		case m == 0xff:
			// fill byte: look at the next one
		case m == markerEOI:
			if i == 1 {
				return nil, fmt.Errorf("%w: empty scan", ErrMalformed)
			}
			return b[:i-1], nil
		default:
			return nil, fmt.Errorf("%w: marker 0x%02X inside the scan (only one scan is supported)",
				ErrUnsupported, m)
		}
	}
}

func sofName(m byte) string {
	switch m {
	case 0xc1:
		return "extended sequential"
	case 0xc2:
		return "progressive"
	case 0xc3:
		return "lossless"
	case 0xc5, 0xc6, 0xc7:
		return "differential"
	default:
		return "arithmetic coding"
	}
}
