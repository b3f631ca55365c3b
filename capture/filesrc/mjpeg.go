package filesrc

import (
	"bytes"
	"errors"
	"fmt"
)

var soi = []byte{0xff, 0xd8}

var (
	errTruncated = errors.New("truncated JPEG")
	errMarker    = errors.New("bad JPEG marker")
	errNoSOF     = errors.New("JPEG without SOF before SOS")
)

// isSOF reports whether marker m is a start-of-frame marker (SOF0..SOF15,
// which excludes DHT C4, JPG C8 and DAC CC).
func isSOF(m byte) bool {
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc
}

// jpegInfo is what scanning one JPEG found.
type jpegInfo struct {
	end           int // index just past EOI
	width, height int // from the first SOF
}

// scanJPEG walks the JPEG that starts with SOI at b[p:] marker by marker:
// segments are skipped by their lengths (so an APP segment holding a
// thumbnail with its own SOI is not mistaken for a new image) and
// entropy-coded data is scanned for the next marker, stepping over stuffed
// FF 00 and RSTn. On error, at is the offset scanning should resume from to
// find the next image (the offending marker, or len(b)).
func scanJPEG(b []byte, p int) (info jpegInfo, at int, err error) {
	i := p + 2
	sawSOF := false
	for {
		if i >= len(b) {
			return info, len(b), errTruncated
		}
		if b[i] != 0xff {
			return info, i, errMarker
		}
		mpos := i
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return info, len(b), errTruncated
		}
		m := b[i]
		i++
		switch {
		case m == 0xd9: // EOI
			if !sawSOF {
				return info, i, errNoSOF
			}
			info.end = i
			return info, i, nil
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // TEM, RSTn: no length
			continue
		case m == 0xd8 || m == 0x00:
			return info, mpos, errMarker
		}
		if i+2 > len(b) {
			return info, len(b), errTruncated
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 {
			return info, mpos, errMarker
		}
		if i+n > len(b) {
			return info, len(b), errTruncated
		}
		seg := b[i+2 : i+n]
		i += n
		if isSOF(m) && !sawSOF {
			if len(seg) < 5 {
				return info, mpos, fmt.Errorf("%w: short SOF", errMarker)
			}
			info.height = int(seg[1])<<8 | int(seg[2])
			info.width = int(seg[3])<<8 | int(seg[4])
			sawSOF = true
		}
		if m != 0xda {
			continue
		}
		if !sawSOF {
			return info, mpos, errNoSOF
		}
		// Entropy-coded data runs to the next marker that is not FF 00
		// (stuffing) or RSTn.
		for {
			j := bytes.IndexByte(b[i:], 0xff)
			if j < 0 || i+j+1 >= len(b) {
				return info, len(b), errTruncated
			}
			i += j
			c := b[i+1]
			if c == 0x00 || (c >= 0xd0 && c <= 0xd7) {
				i += 2
				continue
			}
			if c == 0xff { // fill byte before a marker
				i++
				continue
			}
			break
		}
	}
}

// splitMJPEG splits concatenated JPEG images. Bytes between images and
// malformed or truncated images are skipped; skipped counts the latter. The
// size is that of the first good image.
func splitMJPEG(data []byte) (frames [][]byte, width, height, skipped int, err error) {
	p := 0
	for p < len(data) {
		k := bytes.Index(data[p:], soi)
		if k < 0 {
			break
		}
		p += k
		info, at, err := scanJPEG(data, p)
		if err != nil {
			skipped++
			p = max(at, p+2)
			continue
		}
		if len(frames) == 0 {
			width, height = info.width, info.height
		}
		frames = append(frames, data[p:info.end])
		p = info.end
	}
	if len(frames) == 0 {
		return nil, 0, 0, skipped, fmt.Errorf("no complete JPEG image (SOI..EOI with an SOF)")
	}
	return frames, width, height, skipped, nil
}
