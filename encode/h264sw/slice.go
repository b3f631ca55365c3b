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
	w.writeSE(0) // slice_qp_delta
	w.writeUE(1) // disable_deblocking_filter_idc: off

	// slice_data (7.3.4)
	g := e.g
	cur := &e.cur
	ys, cs := cur.stride, cur.stride/2
	typeOffset := uint32(0)
	if !idr {
		typeOffset = pIntraOffset
	}
	skipRun := uint32(0)
	var modes, pred [16]int8
	leftModes := e.leftModes[:]
	for my := 0; my < g.mbH; my++ {
		leftPCM := false
		for mx := 0; mx < g.mbW; mx++ {
			topModes := e.topModes[4*mx : 4*mx+4]
			yo := my*16*ys + mx*16
			co := my*8*cs + mx*8
			if !idr && e.unchanged(yo, co) {
				skipRun++
				leftPCM = false
				e.pcmTop[mx] = false
				setModes(leftModes, topModes, nil)
				e.stats.Skip++
				continue
			}
			if !idr {
				w.writeUE(skipRun)
				skipRun = 0
			}
			left, top := mx > 0, my > 0
			lm, l16 := lumaMode(cur.y, ys, yo, left, top)
			l4 := !l16 && intra4Modes(cur.y, ys, yo, left, top, leftModes, topModes, &modes, &pred)
			cm, cok := 0, false
			if l16 || l4 {
				cm, cok = chromaMode(cur.cb, cur.cr, cs, co, left, top)
			}
			nC := dcContext(left, top, leftPCM, e.pcmTop[mx])
			leftPCM, e.pcmTop[mx] = false, false
			switch {
			case l16 && cok:
				setModes(leftModes, topModes, nil)
				w.writeUE(typeOffset + mbTypeI16Base + uint32(lm))
				w.writeUE(uint32(cm)) // intra_chroma_pred_mode
				w.writeSE(0)          // mb_qp_delta
				writeEmptyDCToken(w, nC)
				e.stats.Intra16++
				continue
			case l4 && cok:
				setModes(leftModes, topModes, &modes)
				w.writeUE(typeOffset + mbTypeINxN)
				for b, m := range modes {
					if m == pred[b] {
						w.writeBits(1, 1) // prev_intra4x4_pred_mode_flag
						continue
					}
					if m > pred[b] {
						m--
					}
					w.writeBits(uint32(m), 4) // flag 0, rem_intra4x4_pred_mode
				}
				w.writeUE(uint32(cm)) // intra_chroma_pred_mode
				w.writeUE(3)          // coded_block_pattern 0 (me(v), intra)
				e.stats.Intra4++
				continue
			}
			setModes(leftModes, topModes, nil)
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
			leftPCM = true
			e.pcmTop[mx] = true
			e.stats.PCM++
		}
	}
	if skipRun > 0 {
		w.writeUE(skipRun)
	}
	w.trailing()
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

// dcContext returns nC for the Intra16x16DCLevel block (H.264 9.2.1): the
// neighbours are the left and upper macroblocks' adjacent 4x4 blocks, which
// hold 16 coefficients for I_PCM and none for P_Skip or Intra16x16 with
// cbp 0.
func dcContext(left, top, leftPCM, topPCM bool) int {
	nA, nB := 0, 0
	if leftPCM {
		nA = 16
	}
	if topPCM {
		nB = 16
	}
	switch {
	case left && top:
		return (nA + nB + 1) >> 1
	case left:
		return nA
	case top:
		return nB
	}
	return 0
}

// writeEmptyDCToken writes coeff_token for TotalCoeff 0, TrailingOnes 0
// (H.264 Table 9-5) in the VLC table selected by nC.
func writeEmptyDCToken(w *bitWriter, nC int) {
	switch {
	case nC < 2:
		w.writeBits(0b1, 1)
	case nC < 4:
		w.writeBits(0b11, 2)
	case nC < 8:
		w.writeBits(0b1111, 4)
	default:
		w.writeBits(0b000011, 6)
	}
}
