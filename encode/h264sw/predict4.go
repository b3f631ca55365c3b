package h264sw

// Intra 4x4 prediction (H.264 8.3.1) restricted to the modes that need no
// samples above-right: vertical (0), horizontal (1) and DC (2). A block is
// coded when one of them predicts it up to a constant offset: the offset is
// sent as a single DC coefficient, which at QP 0 reproduces any offset
// exactly (see dcLevel). Intra4x4 thus covers every macroblock made of flat
// 4x4 blocks (text, barcodes, a box moving in 4-pixel steps), at a few bits
// per block.

// modeDC is also the mode a neighbour that is not Intra4x4 contributes.
const modeDC = 2

// blk4Pos gives the (x, y) position, in 4x4 units, of luma4x4BlkIdx.
var blk4Pos = [16][2]int{
	{0, 0}, {1, 0}, {0, 1}, {1, 1},
	{2, 0}, {3, 0}, {2, 1}, {3, 1},
	{0, 2}, {1, 2}, {0, 3}, {1, 3},
	{2, 2}, {3, 2}, {2, 3}, {3, 3},
}

// blk4Offset returns the constant r with block == prediction + r, for
// prediction mode m of the 4x4 block at off, or ok=false.
func blk4Offset(pl []byte, stride, off int, left, top bool, m int) (r int, ok bool) {
	switch m {
	case 0: // vertical: every row equals the row above plus r
		if !top {
			return 0, false
		}
		row := pl[off : off+4]
		for y := 1; y < 4; y++ {
			if !equalRow(pl[off+y*stride:], row, 4) {
				return 0, false
			}
		}
		above := pl[off-stride : off-stride+4]
		r = int(row[0]) - int(above[0])
		for x := 1; x < 4; x++ {
			if int(row[x])-int(above[x]) != r {
				return 0, false
			}
		}
		return r, true
	case 1: // horizontal: every row is flat, at its left neighbour plus r
		if !left {
			return 0, false
		}
		r = int(pl[off]) - int(pl[off-1])
		for y := 0; y < 4; y++ {
			o := off + y*stride
			if !flatRow(pl[o:o+4], pl[o]) || int(pl[o])-int(pl[o-1]) != r {
				return 0, false
			}
		}
		return r, true
	}
	v := pl[off]
	if !isFlat(pl, stride, off, 4, 4, v) {
		return 0, false
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
	return int(v) - dc, true
}

// blk4Mode picks the mode for a 4x4 block: an exact prediction (r == 0) if
// one exists, preferring pref (cheapest to signal), else the first mode that
// predicts the block up to a constant.
func blk4Mode(pl []byte, stride, off int, left, top bool, pref int) (m, r int, ok bool) {
	order := [3]int{pref, (pref + 1) % 3, (pref + 2) % 3}
	for _, c := range order {
		cr, cok := blk4Offset(pl, stride, off, left, top, c)
		if !cok {
			continue
		}
		if cr == 0 {
			return c, 0, true
		}
		if !ok {
			m, r, ok = c, cr, true
		}
	}
	return m, r, ok
}

// intra4 is the coding of one Intra4x4 macroblock, indexed by luma4x4BlkIdx.
type intra4 struct {
	modes, pred [16]int8
	resid       [16]int16 // constant residual of each block
	cbp         uint32    // luma coded_block_pattern: one bit per 8x8 with residual
}

// intra4Modes chooses modes for the 16 blocks of the macroblock at off and
// reports whether every block can be coded. leftModes holds the modes of
// the left neighbour's right column (modeDC when it is not Intra4x4),
// topModes those of the upper neighbour's bottom row.
func intra4Modes(pl []byte, stride, off int, left, top bool, leftModes, topModes []int8, mb *intra4) bool {
	var grid [4][4]int8 // [y][x] modes chosen so far
	mb.cbp = 0
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
		m, r, ok := blk4Mode(pl, stride, off+4*by*stride+4*bx, haveL, haveT, int(p))
		if !ok {
			return false
		}
		grid[by][bx] = int8(m)
		mb.modes[blk], mb.pred[blk], mb.resid[blk] = int8(m), p, int16(r)
		if r != 0 {
			mb.cbp |= 1 << (blk / 4)
		}
	}
	return true
}

// dcLevels maps a constant residual r (index r+255) to the DC coefficient
// level that reproduces it at QP 0: the decoder scales the level by
// LevelScale4x4(0,0,0)/16 = 10, and a DC-only inverse transform yields
// (10*level + 32) >> 6 in every sample (H.264 8.5.12).
var dcLevels = func() (t [511]int16) {
	for r := -255; r <= 255; r++ {
		// smallest level with 10*level >= 64r - 32
		n := 64*r - 32
		c := n / 10
		if c*10 < n {
			c++
		}
		t[r+255] = int16(c)
	}
	return t
}()

// decodedDC is the residual a decoder reconstructs from a DC-only level at
// QP 0; tests check it inverts dcLevels.
func decodedDC(level int) int { return (10*level + 32) >> 6 }
