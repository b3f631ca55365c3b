package filesrc

import (
	"bytes"
	"fmt"
)

var startCode = []byte{0, 0, 1}

// nalType returns nal_unit_type (H.264 Table 7-1) of a NAL unit without its
// start code.
func nalType(nal []byte) byte { return nal[0] & 0x1f }

// NAL unit types the splitter looks at (H.264 Table 7-1).
const (
	nalNonIDR = 1
	nalPartA  = 2
	nalIDR    = 5
	nalSEI    = 6
	nalSPS    = 7
	nalPPS    = 8
	nalAUD    = 9
)

// startsAccessUnit reports whether a non-VCL NAL unit of type t, seen after
// the last VCL NAL unit of a primary coded picture, starts a new access unit
// (H.264 §7.4.1.2.3): access unit delimiter, SPS, PPS, SEI and types 14..18.
func startsAccessUnit(t byte) bool {
	switch t {
	case nalAUD, nalSPS, nalPPS, nalSEI, 14, 15, 16, 17, 18:
		return true
	}
	return false
}

// splitAnnexB splits an H.264 Annex-B byte stream into access units, each
// the Annex-B bytes of one primary coded picture with its start codes
// (including the leading zero_byte of a four-byte start code), as slices of
// data. Leading bytes before the first start code and trailing_zero_8bits are
// left out. It also returns the first SPS NAL unit (nil if none).
//
// A new access unit begins, after a picture's VCL NAL units, at an AUD, SPS,
// PPS, SEI or NAL unit of type 14..18, or at a slice (type 1, 2 or 5) whose
// first_mb_in_slice is 0 or whose IdrPicFlag differs from the previous
// slice's. That is the part of §7.4.1.2.4 that matters for streams from
// encoders that do not use arbitrary slice order.
func splitAnnexB(data []byte) (aus [][]byte, sps []byte, err error) {
	sc := bytes.Index(data, startCode)
	if sc < 0 {
		return nil, nil, fmt.Errorf("no Annex-B start code (00 00 01)")
	}
	auStart := -1 // start of the current access unit, -1 before the first
	lastEnd := 0  // end of the last NAL unit added to the current access unit
	seenVCL := false
	curIDR := false
	pictures := 0
	for sc >= 0 {
		lead := sc
		if sc > 0 && data[sc-1] == 0 {
			lead = sc - 1
		}
		p := sc + 3
		next := -1
		if i := bytes.Index(data[p:], startCode); i >= 0 {
			next = p + i
		}
		end := len(data)
		if next >= 0 {
			end = next
		}
		for end > p && data[end-1] == 0 {
			end--
		}
		sc = next
		if end == p {
			continue // empty NAL unit
		}
		nal := data[p:end]
		t := nalType(nal)
		boundary := false
		switch t {
		case nalNonIDR, nalPartA, nalIDR:
			idr := t == nalIDR
			firstMB0 := len(nal) >= 2 && nal[1]&0x80 != 0 // ue(v) 0 is the single bit 1
			boundary = seenVCL && (firstMB0 || idr != curIDR)
			if !seenVCL || boundary {
				pictures++
			}
			seenVCL, curIDR = true, idr
		default:
			if seenVCL && startsAccessUnit(t) {
				boundary = true
				seenVCL = false
			}
			if t == nalSPS && sps == nil {
				sps = nal
			}
		}
		if auStart >= 0 && boundary {
			aus = append(aus, data[auStart:lastEnd])
			auStart = -1
		}
		if auStart < 0 {
			auStart = lead
		}
		lastEnd = end
	}
	if auStart >= 0 && seenVCL {
		// A trailing access unit without a picture (only parameter sets or
		// SEI) is dropped: it cannot be shown.
		aus = append(aus, data[auStart:lastEnd])
	}
	if pictures == 0 {
		return nil, sps, fmt.Errorf("no coded picture (slice NAL unit) in the Annex-B stream")
	}
	return aus, sps, nil
}
