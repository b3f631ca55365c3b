package h264sw

// Intra 4x4 prediction (H.264 8.3.1) restricted to the modes that need no
// samples above-right: vertical (0), horizontal (1) and DC (2). An Intra4x4
// macroblock with coded_block_pattern 0 costs a few bits per 4x4 block and
// reproduces edges on a 4-pixel grid (text, barcodes, a box moving in 4-pixel
// steps) that no 16x16 prediction matches.

// modeDC is also the mode a neighbour that is not Intra4x4 contributes.
const modeDC = 2

// blk4Pos gives the (x, y) position, in 4x4 units, of luma4x4BlkIdx.
var blk4Pos = [16][2]int{
	{0, 0}, {1, 0}, {0, 1}, {1, 1},
	{2, 0}, {3, 0}, {2, 1}, {3, 1},
	{0, 2}, {1, 2}, {0, 3}, {1, 3},
	{2, 2}, {3, 2}, {2, 3}, {3, 3},
}

// blk4Mode returns a 4x4 prediction mode that reproduces the block at off
// exactly, preferring pref (the mode that is cheapest to signal).
func blk4Mode(pl []byte, stride, off int, left, top bool, pref int) (int, bool) {
	exact := func(m int) bool {
		switch m {
		case 0:
			return top && predictsVertical(pl, stride, off, 4)
		case 1:
			return left && predictsHorizontal(pl, stride, off, 4)
		}
		dc := 128
		switch {
		case left && top:
			dc = (sumTop(pl, stride, off, 4) + sumLeft(pl, stride, off, 4) + 4) >> 3
		case left:
			dc = (sumLeft(pl, stride, off, 4) + 2) >> 2
		case top:
			dc = (sumTop(pl, stride, off, 4) + 2) >> 2
		}
		return isFlat(pl, stride, off, 4, 4, byte(dc))
	}
	if pref <= modeDC && exact(pref) {
		return pref, true
	}
	for m := 0; m <= modeDC; m++ {
		if m != pref && exact(m) {
			return m, true
		}
	}
	return 0, false
}

// intra4Modes chooses exact modes for the 16 blocks of the macroblock at
// off. leftModes holds the modes of the left neighbour's right column
// (modeDC when it is not Intra4x4), topModes those of the upper
// neighbour's bottom row. It fills modes (indexed by luma4x4BlkIdx) and the
// per-block predicted modes, and reports whether every block is exact.
func intra4Modes(pl []byte, stride, off int, left, top bool, leftModes, topModes []int8, modes, pred *[16]int8) bool {
	var grid [4][4]int8 // [y][x] modes chosen so far
	for blk := 0; blk < 16; blk++ {
		bx, by := blk4Pos[blk][0], blk4Pos[blk][1]
		haveL, haveT := bx > 0 || left, by > 0 || top
		p := int8(modeDC)
		if haveL && haveT {
			a, b := leftModes[by], topModes[bx]
			if bx > 0 {
				a = grid[by][bx-1]
			}
			if by > 0 {
				b = grid[by-1][bx]
			}
			p = min(a, b)
		}
		m, ok := blk4Mode(pl, stride, off+4*by*stride+4*bx, haveL, haveT, int(p))
		if !ok {
			return false
		}
		grid[by][bx] = int8(m)
		modes[blk], pred[blk] = int8(m), p
	}
	return true
}
