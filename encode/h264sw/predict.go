package h264sw

import "bytes"

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

// flatRow reports whether every sample of row equals v.
func flatRow(row []byte, v byte) bool {
	return row[0] == v && bytes.Equal(row[1:], row[:len(row)-1])
}

// predictsVertical reports whether every row of the n x n block at off
// equals the row above it (the block must have a row above).
func predictsVertical(pl []byte, stride, off, n int) bool {
	top := pl[off-stride : off-stride+n]
	for r := 0; r < n; r++ {
		if !bytes.Equal(pl[off+r*stride:off+r*stride+n], top) {
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

// isFlat reports whether the w x h block at off is filled with v.
func isFlat(pl []byte, stride, off, w, h int, v byte) bool {
	for r := 0; r < h; r++ {
		o := off + r*stride
		if !flatRow(pl[o:o+w], v) {
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

// chromaDCExact reports whether chroma DC prediction (H.264 8.3.4.1-3)
// reproduces the 8x8 block at off exactly. Each 4x4 quarter has its own DC
// with its own preference between the top and left neighbours.
func chromaDCExact(pl []byte, stride, off int, left, top bool) bool {
	for q := 0; q < 4; q++ {
		xo, yo := 4*(q&1), 4*(q>>1)
		o := off + yo*stride + xo
		dc := 128
		useTop, useLeft := top, left
		switch {
		case xo != 0 && yo == 0: // top-right quarter prefers the top row
			if top {
				useLeft = false
			}
		case xo == 0 && yo != 0: // bottom-left quarter prefers the left column
			if left {
				useTop = false
			}
		}
		switch {
		case useTop && useLeft:
			dc = (sumTop(pl, stride, o, 4) + sumLeft(pl, stride, o, 4) + 4) >> 3
		case useLeft:
			dc = (sumLeft(pl, stride, o, 4) + 2) >> 2
		case useTop:
			dc = (sumTop(pl, stride, o, 4) + 2) >> 2
		}
		if !isFlat(pl, stride, o, 4, 4, byte(dc)) {
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
