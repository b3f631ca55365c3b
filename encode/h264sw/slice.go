package h264sw

// Slice types (the +5 variants: all slices of the picture share the type).
const (
	sliceTypeP = 5
	sliceTypeI = 7
)

// mb_type values in an I slice; a P slice adds 5 (H.264 Table 7-11, 7-13).
const (
	mbTypeINxN    = 0 // Intra4x4
	mbTypeI16Base = 1 // + prediction mode, with cbp 0
	mbTypeIPCM    = 25
	pIntraOffset  = 5
)

// writeSlice writes the RBSP of a single slice covering the picture in
// e.cur into e.bw.
func (e *Encoder) writeSlice(idr bool) {
	w := &e.bw
	w.reset()

	// slice_header (7.3.3)
	w.writeUE(0) // first_mb_in_slice
	if idr {
		w.writeUE(sliceTypeI)
	} else {
		w.writeUE(sliceTypeP)
	}
	w.writeUE(0) // pic_parameter_set_id
	w.writeBits(e.frameNum, log2MaxFrameNum)
	if idr {
		w.writeUE(e.idrPicID)
	} else {
		w.writeFlag(false) // num_ref_idx_active_override_flag
		w.writeFlag(false) // ref_pic_list_modification_flag_l0
	}
	// dec_ref_pic_marking
	if idr {
		w.writeFlag(false) // no_output_of_prior_pics_flag
		w.writeFlag(false) // long_term_reference_flag
	} else {
		w.writeFlag(false) // adaptive_ref_pic_marking_mode_flag: sliding window
	}
	w.writeSE(-26) // slice_qp_delta: QP 0, where DC levels reproduce any offset
	w.writeUE(1)   // disable_deblocking_filter_idc: off

	// slice_data (7.3.4)
	g := e.g
	cur := &e.cur
	ys, cs := cur.stride, cur.stride/2
	typeOffset := uint32(0)
	if !idr {
		typeOffset = pIntraOffset
	}
	skipRun := uint32(0)
	mb := &e.mb4
	leftModes, leftNZ := e.leftModes[:], e.leftNZ[:]
	for my := 0; my < g.mbH; my++ {
		for mx := 0; mx < g.mbW; mx++ {
			topModes, topNZ := e.topModes[4*mx:4*mx+4], e.topNZ[4*mx:4*mx+4]
			yo := my*16*ys + mx*16
			co := my*8*cs + mx*8
			if !idr && e.unchanged(yo, co) {
				skipRun++
				setModes(leftModes, topModes, nil)
				setNZ(leftNZ, topNZ, 0, nil)
				e.stats.Skip++
				continue
			}
			if !idr {
				w.writeUE(skipRun)
				skipRun = 0
			}
			left, top := mx > 0, my > 0
			lm, l16 := lumaMode(cur.y, ys, yo, left, top)
			l4 := !l16 && intra4Modes(cur.y, ys, yo, left, top, leftModes, topModes, mb)
			ch := &e.chroma
			cok := (l16 || l4) && chromaPlan(cur.cb, cur.cr, cs, co, left, top, ch)
			switch {
			case l16 && cok:
				w.writeUE(typeOffset + mbTypeI16Base + uint32(lm) + 4*ch.cbp)
				w.writeUE(uint32(ch.mode)) // intra_chroma_pred_mode
				w.writeSE(0)               // mb_qp_delta
				// Intra16x16DCLevel: no coefficients. Its nC comes from the
				// neighbours of luma4x4BlkIdx 0.
				writeCoeffToken(w, nCFor(left, top, leftNZ[0], topNZ[0]), 0, false)
				e.writeChromaResidual(w, ch)
				setModes(leftModes, topModes, nil)
				setNZ(leftNZ, topNZ, 0, nil)
				e.stats.Intra16++
				continue
			case l4 && cok:
				e.writeIntra4(mb, ch, typeOffset, left, top, leftNZ, topNZ)
				setModes(leftModes, topModes, &mb.modes)
				e.stats.Intra4++
				continue
			}
			w.writeUE(typeOffset + mbTypeIPCM)
			w.alignZero() // pcm_alignment_zero_bit
			for r := 0; r < 16; r++ {
				w.writeBytes(cur.y[yo+r*ys : yo+r*ys+16])
			}
			for r := 0; r < 8; r++ {
				w.writeBytes(cur.cb[co+r*cs : co+r*cs+8])
			}
			for r := 0; r < 8; r++ {
				w.writeBytes(cur.cr[co+r*cs : co+r*cs+8])
			}
			setModes(leftModes, topModes, nil)
			setNZ(leftNZ, topNZ, 16, nil) // I_PCM counts as 16 coefficients per block
			e.stats.PCM++
		}
	}
	if skipRun > 0 {
		w.writeUE(skipRun)
	}
	w.trailing()
}

// writeIntra4 writes an Intra4x4 macroblock: modes, chroma mode,
// coded_block_pattern and the DC-only residual blocks. It updates leftNZ
// and topNZ to the macroblock's coefficient counts.
func (e *Encoder) writeIntra4(mb *intra4, ch *chromaRes, typeOffset uint32, left, top bool, leftNZ, topNZ []uint8) {
	w := &e.bw
	w.writeUE(typeOffset + mbTypeINxN)
	for b, m := range mb.modes {
		p := mb.pred[b]
		if m == p {
			w.writeBits(1, 1) // prev_intra4x4_pred_mode_flag
			continue
		}
		if m > p {
			m--
		}
		w.writeBits(uint32(m), 4) // flag 0, rem_intra4x4_pred_mode
	}
	w.writeUE(uint32(ch.mode)) // intra_chroma_pred_mode
	cbp := mb.cbp | ch.cbp<<4
	w.writeUE(uint32(intraCBPCode[cbp]))
	var nz [16]uint8 // by luma4x4BlkIdx
	for b, r := range mb.resid {
		if r != 0 {
			nz[b] = 1
		}
	}
	if cbp != 0 {
		w.writeSE(0) // mb_qp_delta
		for b := 0; b < 16; b++ {
			if mb.cbp&(1<<(b/4)) == 0 {
				continue
			}
			bx, by := blk4Pos[b][0], blk4Pos[b][1]
			a, haveA := leftNZ[by], left
			if bx > 0 {
				a, haveA = nz[blk4Index[by][bx-1]], true
			}
			bb, haveB := topNZ[bx], top
			if by > 0 {
				bb, haveB = nz[blk4Index[by-1][bx]], true
			}
			nC := nCFor(haveA, haveB, a, bb)
			if mb.resid[b] == 0 {
				writeCoeffToken(w, nC, 0, false)
				continue
			}
			writeDCOnly(w, nC, int(dcLevels[int(mb.resid[b])+255]))
		}
		e.writeChromaResidual(w, ch)
	}
	setNZ(leftNZ, topNZ, 0, &nz)
}

// unchanged reports whether the macroblock at the given luma and chroma
// offsets is identical in the current and previous pictures.
func (e *Encoder) unchanged(yo, co int) bool {
	c, p := &e.cur, &e.prev
	cs := c.stride / 2
	return sameBlock(c.y, p.y, c.stride, yo, 16, 16) &&
		sameBlock(c.cb, p.cb, cs, co, 8, 8) &&
		sameBlock(c.cr, p.cr, cs, co, 8, 8)
}

// setModes records the Intra4x4 modes of a coded macroblock for its right
// and lower neighbours: its right column becomes leftModes, its bottom row
// topModes. A nil modes means the macroblock is not Intra4x4, which its
// neighbours see as DC.
func setModes(leftModes, topModes []int8, modes *[16]int8) {
	if modes == nil {
		for i := 0; i < 4; i++ {
			leftModes[i], topModes[i] = modeDC, modeDC
		}
		return
	}
	leftModes[0], leftModes[1], leftModes[2], leftModes[3] = modes[5], modes[7], modes[13], modes[15]
	topModes[0], topModes[1], topModes[2], topModes[3] = modes[10], modes[11], modes[14], modes[15]
}

// writeChromaResidual writes the Cb and Cr DC blocks when chroma has
// coded_block_pattern 1 (there is never chroma AC).
func (e *Encoder) writeChromaResidual(w *bitWriter, ch *chromaRes) {
	if ch.cbp == 0 {
		return
	}
	e.stats.ChromaDC++
	writeChromaDC(w, &ch.dc[0])
	writeChromaDC(w, &ch.dc[1])
}

// nCFor returns nC (H.264 9.2.1) from the coefficient counts of the left
// and upper neighbouring 4x4 blocks and whether those blocks are available.
func nCFor(haveA, haveB bool, nA, nB uint8) int {
	switch {
	case haveA && haveB:
		return (int(nA) + int(nB) + 1) >> 1
	case haveA:
		return int(nA)
	case haveB:
		return int(nB)
	}
	return 0
}

// setNZ records a macroblock's coefficient counts for its neighbours: its
// right column becomes leftNZ, its bottom row topNZ. With nz nil every
// block counts n.
func setNZ(leftNZ, topNZ []uint8, n uint8, nz *[16]uint8) {
	if nz == nil {
		for i := 0; i < 4; i++ {
			leftNZ[i], topNZ[i] = n, n
		}
		return
	}
	leftNZ[0], leftNZ[1], leftNZ[2], leftNZ[3] = nz[5], nz[7], nz[13], nz[15]
	topNZ[0], topNZ[1], topNZ[2], topNZ[3] = nz[10], nz[11], nz[14], nz[15]
}

// blk4Index is the inverse of blk4Pos: luma4x4BlkIdx by [y][x].
var blk4Index = [4][4]int{
	{0, 1, 4, 5},
	{2, 3, 6, 7},
	{8, 9, 12, 13},
	{10, 11, 14, 15},
}

// coeffTokens holds coeff_token codes (H.264 Table 9-5) for TotalCoeff 0
// and 1, by nC class (0-1, 2-3, 4-7, 8+): {code, length}.
var coeffTokens = [4]struct{ zero, one0, one1 [2]uint32 }{
	{[2]uint32{0b1, 1}, [2]uint32{0b000101, 6}, [2]uint32{0b01, 2}},
	{[2]uint32{0b11, 2}, [2]uint32{0b001011, 6}, [2]uint32{0b10, 2}},
	{[2]uint32{0b1111, 4}, [2]uint32{0b001111, 6}, [2]uint32{0b1110, 4}},
	{[2]uint32{0b000011, 6}, [2]uint32{0b000000, 6}, [2]uint32{0b000001, 6}},
}

// writeCoeffToken writes coeff_token for TotalCoeff total (0 or 1) with
// trailingOne telling whether the single coefficient is ±1.
func writeCoeffToken(w *bitWriter, nC, total int, trailingOne bool) {
	class := 3
	switch {
	case nC < 2:
		class = 0
	case nC < 4:
		class = 1
	case nC < 8:
		class = 2
	}
	t := coeffTokens[class]
	c := t.zero
	if total == 1 {
		c = t.one0
		if trailingOne {
			c = t.one1
		}
	}
	w.writeBits(c[0], uint(c[1]))
}

// writeDCOnly writes a CAVLC residual_block (maxNumCoeff 16) whose only
// non-zero coefficient is level, at scan position 0 (H.264 7.3.5.3.2,
// 9.2).
func writeDCOnly(w *bitWriter, nC, level int) {
	if level == 1 || level == -1 {
		writeCoeffToken(w, nC, 1, true)
		w.writeFlag(level < 0) // trailing_ones_sign_flag
	} else {
		writeCoeffToken(w, nC, 1, false)
		// First level after fewer than 3 trailing ones: its levelCode is
		// sent reduced by 2. suffixLength is 0.
		code := 2*level - 2
		if level < 0 {
			code = -2*level - 1
		}
		code -= 2
		switch {
		case code < 14:
			w.writeBits(0, uint(code)) // level_prefix = code
			w.writeBits(1, 1)
		case code < 30:
			w.writeBits(1, 15) // level_prefix = 14
			w.writeBits(uint32(code-14), 4)
		default:
			w.writeBits(1, 16) // level_prefix = 15
			w.writeBits(uint32(code-30), 12)
		}
	}
	w.writeBits(1, 1) // total_zeros = 0 (TotalCoeff 1)
}

// intraCBPCode maps an Intra4x4 coded_block_pattern to its me(v) codeNum
// (H.264 Table 9-4, ChromaArrayType 1).
var intraCBPCode = func() (t [48]uint8) {
	for code, cbp := range intraCBPByCode {
		t[cbp] = uint8(code)
	}
	return t
}()

// intraCBPByCode is the Intra column of Table 9-4: coded_block_pattern by
// codeNum.
var intraCBPByCode = [48]uint8{
	47, 31, 15, 0, 23, 27, 29, 30, 7, 11, 13, 14, 39, 43, 45, 46,
	16, 3, 5, 10, 12, 19, 21, 26, 28, 35, 37, 42, 44, 1, 2, 4,
	8, 17, 18, 20, 24, 6, 9, 22, 25, 32, 33, 34, 36, 40, 38, 41,
}
