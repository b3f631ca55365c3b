package h264sw

import (
	"bytes"
	"encoding/binary"
)

// Intra 16x16 luma prediction modes (H.264 8.3.3); plane is not tried.
const (
	lumaVertical   = 0
	lumaHorizontal = 1
	lumaDC         = 2
)

// Intra chroma prediction modes (H.264 8.3.4); plane is not tried.
const (
	chromaDC         = 0
	chromaHorizontal = 1
	chromaVertical   = 2
)

const splat = 0x0101010101010101

func load64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// equalRow reports whether the first n (4, 8 or 16) bytes of a and b match.
func equalRow(a, b []byte, n int) bool {
	switch n {
	case 16:
		return load64(a[:8]) == load64(b[:8]) && load64(a[8:16]) == load64(b[8:16])
	case 8:
		return load64(a[:8]) == load64(b[:8])
	}
	return bytes.Equal(a[:n], b[:n])
}

// flatRow reports whether every sample of row (4, 8 or 16 long) equals v.
func flatRow(row []byte, v byte) bool {
	x := uint64(v) * splat
	switch len(row) {
	case 16:
		return load64(row[:8]) == x && load64(row[8:16]) == x
	case 8:
		return load64(row[:8]) == x
	case 4:
		return binary.LittleEndian.Uint32(row[:4]) == uint32(x)
	}
	return row[0] == v && bytes.Equal(row[1:], row[:len(row)-1])
}

// predictsVertical reports whether every row of the n x n block at off
// equals the row above it (the block must have a row above).
func predictsVertical(pl []byte, stride, off, n int) bool {
	top := pl[off-stride : off-stride+n]
	for r := 0; r < n; r++ {
		if !equalRow(pl[off+r*stride:], top, n) {
			return false
		}
	}
	return true
}

// predictsHorizontal reports whether every row of the n x n block at off
// is filled with the sample left of it (the block must have a left column).
func predictsHorizontal(pl []byte, stride, off, n int) bool {
	for r := 0; r < n; r++ {
		o := off + r*stride
		if !flatRow(pl[o:o+n], pl[o-1]) {
			return false
		}
	}
	return true
}

// isFlat reports whether the w x h block at off is filled with v; w is 4,
// 8 or 16.
func isFlat(pl []byte, stride, off, w, h int, v byte) bool {
	x := uint64(v) * splat
	switch w {
	case 16:
		for r := 0; r < h; r++ {
			row := pl[off+r*stride : off+r*stride+16]
			if load64(row[:8]) != x || load64(row[8:]) != x {
				return false
			}
		}
	case 8:
		for r := 0; r < h; r++ {
			if load64(pl[off+r*stride:off+r*stride+8]) != x {
				return false
			}
		}
	default:
		for r := 0; r < h; r++ {
			if !flatRow(pl[off+r*stride:off+r*stride+w], v) {
				return false
			}
		}
	}
	return true
}

// sameBlock reports whether the w x h blocks (w 8 or 16) at off in a and b
// are identical.
func sameBlock(a, b []byte, stride, off, w, h int) bool {
	for r := 0; r < h; r++ {
		o := off + r*stride
		ra, rb := a[o:o+w], b[o:o+w]
		if load64(ra[:8]) != load64(rb[:8]) || (w == 16 && load64(ra[8:16]) != load64(rb[8:16])) {
			return false
		}
	}
	return true
}

// sumTop and sumLeft add the n neighbouring samples above / left of off.
func sumTop(pl []byte, stride, off, n int) int {
	s := 0
	for _, v := range pl[off-stride : off-stride+n] {
		s += int(v)
	}
	return s
}

func sumLeft(pl []byte, stride, off, n int) int {
	s := 0
	for r := 0; r < n; r++ {
		s += int(pl[off+r*stride-1])
	}
	return s
}

// lumaMode returns an Intra16x16 prediction mode that reproduces the luma
// macroblock at off exactly, given which neighbours are available.
func lumaMode(pl []byte, stride, off int, left, top bool) (int, bool) {
	if top && predictsVertical(pl, stride, off, 16) {
		return lumaVertical, true
	}
	if left && predictsHorizontal(pl, stride, off, 16) {
		return lumaHorizontal, true
	}
	dc := 128
	switch {
	case left && top:
		dc = (sumTop(pl, stride, off, 16) + sumLeft(pl, stride, off, 16) + 16) >> 5
	case left:
		dc = (sumLeft(pl, stride, off, 16) + 8) >> 4
	case top:
		dc = (sumTop(pl, stride, off, 16) + 8) >> 4
	}
	if isFlat(pl, stride, off, 16, 16, byte(dc)) {
		return lumaDC, true
	}
	return 0, false
}

// chromaDCExact reports whether chroma DC prediction reproduces the 8x8
// block at off exactly: each 4x4 quarter is flat at its own DC.
func chromaDCExact(pl []byte, stride, off int, left, top bool) bool {
	for q := 0; q < 4; q++ {
		o := off + 4*(q>>1)*stride + 4*(q&1)
		if !isFlat(pl, stride, o, 4, 4, byte(chromaDCPred(pl, stride, off, q, left, top))) {
			return false
		}
	}
	return true
}

// chromaMode returns an intra chroma prediction mode that reproduces both
// 8x8 chroma blocks at off exactly.
func chromaMode(cb, cr []byte, stride, off int, left, top bool) (int, bool) {
	if chromaDCExact(cb, stride, off, left, top) && chromaDCExact(cr, stride, off, left, top) {
		return chromaDC, true
	}
	if left && predictsHorizontal(cb, stride, off, 8) && predictsHorizontal(cr, stride, off, 8) {
		return chromaHorizontal, true
	}
	if top && predictsVertical(cb, stride, off, 8) && predictsVertical(cr, stride, off, 8) {
		return chromaVertical, true
	}
	return 0, false
}
