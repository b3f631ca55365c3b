package h264sw

// Chroma coded with a DC residual: when a chroma prediction mode predicts
// every 4x4 quarter of both 8x8 chroma blocks up to a constant, the four
// constants of each component are sent as chroma DC levels (coded block
// pattern chroma 1). At QP 0 any set of constants is reproduced exactly.

// chromaRes is the chroma coding of one macroblock.
type chromaRes struct {
	mode int
	cbp  uint32      // 0: prediction is exact; 1: DC levels follow
	dc   [2][4]int16 // Cb, Cr levels c0..c3 (raster order of the 2x2 DC)
}

// chromaDCPred returns the DC prediction of chroma quarter q (raster order)
// of the 8x8 block at off (H.264 8.3.4.1-3). Every quarter predicts from
// the macroblock's neighbours: the four samples above its columns and the
// four left of its rows.
func chromaDCPred(pl []byte, stride, off, q int, left, top bool) int {
	xo, yo := 4*(q&1), 4*(q>>1)
	topAt, leftAt := off+xo, off+yo*stride
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
		return (sumTop(pl, stride, topAt, 4) + sumLeft(pl, stride, leftAt, 4) + 4) >> 3
	case useLeft:
		return (sumLeft(pl, stride, leftAt, 4) + 2) >> 2
	case useTop:
		return (sumTop(pl, stride, topAt, 4) + 2) >> 2
	}
	return 128
}

// chromaQuarterOffset returns r such that quarter q of the 8x8 chroma
// block at off equals its prediction in mode plus r everywhere.
func chromaQuarterOffset(pl []byte, stride, off, q, mode int, left, top bool) (int, bool) {
	xo, yo := 4*(q&1), 4*(q>>1)
	o := off + yo*stride + xo
	switch mode {
	case chromaHorizontal: // pred[x,y] = p[-1,y] of the macroblock
		if !left {
			return 0, false
		}
		r := int(pl[o]) - int(pl[o-xo-1])
		for y := 0; y < 4; y++ {
			ro := o + y*stride
			if !flatRow(pl[ro:ro+4], pl[ro]) || int(pl[ro])-int(pl[ro-xo-1]) != r {
				return 0, false
			}
		}
		return r, true
	case chromaVertical: // pred[x,y] = p[x,-1] of the macroblock
		if !top {
			return 0, false
		}
		row := pl[o : o+4]
		for y := 1; y < 4; y++ {
			if !equalRow(pl[o+y*stride:], row, 4) {
				return 0, false
			}
		}
		above := pl[off-stride+xo : off-stride+xo+4]
		r := int(row[0]) - int(above[0])
		for x := 1; x < 4; x++ {
			if int(row[x])-int(above[x]) != r {
				return 0, false
			}
		}
		return r, true
	}
	v := pl[o]
	if !isFlat(pl, stride, o, 4, 4, v) {
		return 0, false
	}
	return int(v) - chromaDCPred(pl, stride, off, q, left, top), true
}

// chromaDCF maps a constant residual r (index r+255) to the value f of the
// inverse-transformed chroma DC that reproduces it at QP 0: the decoder
// computes dcC = (f*160)>>5 = 5f and then (dcC+32)>>6 in every sample of
// the quarter (H.264 8.5.11.2, 8.5.12). f is a multiple of 4 so that the
// levels, c = H f H / 4, are integers; the one nearest zero is taken.
var chromaDCF = func() (t [511]int16) {
	for r := -255; r <= 255; r++ {
		best, found := 0, false
		for f := -4 * 1024; f <= 4*1024; f += 4 {
			if decodedChromaDC(f) == r && (!found || abs(f) < abs(best)) {
				best, found = f, true
			}
		}
		t[r+255] = int16(best)
	}
	return t
}()

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// decodedChromaDC is the residual a decoder reconstructs in a chroma
// quarter whose inverse-transformed DC is f, at QP 0.
func decodedChromaDC(f int) int { return (5*f + 32) >> 6 }

// chromaLevels turns the four quarter residuals into chroma DC levels.
func chromaLevels(r [4]int) (c [4]int16) {
	var f [4]int
	for i, v := range r {
		f[i] = int(chromaDCF[v+255])
	}
	// c = H f H / 4 with H = [[1,1],[1,-1]], f and c in raster order.
	c[0] = int16((f[0] + f[1] + f[2] + f[3]) / 4)
	c[1] = int16((f[0] - f[1] + f[2] - f[3]) / 4)
	c[2] = int16((f[0] + f[1] - f[2] - f[3]) / 4)
	c[3] = int16((f[0] - f[1] - f[2] + f[3]) / 4)
	return c
}

// chromaPlan finds how to code the chroma of the macroblock at off: an
// exact prediction if there is one, else a mode plus DC levels.
func chromaPlan(cb, cr []byte, stride, off int, left, top bool, out *chromaRes) bool {
	if m, ok := chromaMode(cb, cr, stride, off, left, top); ok {
		out.mode, out.cbp = m, 0
		return true
	}
	for _, m := range [3]int{chromaDC, chromaHorizontal, chromaVertical} {
		ok := true
		for comp, pl := range [2][]byte{cb, cr} {
			var r [4]int
			for q := 0; q < 4 && ok; q++ {
				r[q], ok = chromaQuarterOffset(pl, stride, off, q, m, left, top)
			}
			if !ok {
				break
			}
			out.dc[comp] = chromaLevels(r)
			ok = chromaDCFits(&out.dc[comp])
		}
		if ok {
			out.mode, out.cbp = m, 1
			return true
		}
	}
	return false
}
