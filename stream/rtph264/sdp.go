package rtph264

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// IsIDR reports whether the access unit contains an IDR slice (type 5).
func IsIDR(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) > 0 && n[0]&0x1f == naluTypeIDR {
			return true
		}
	}
	return false
}

// ProfileLevelID returns the profile-level-id of the SDP fmtp line
// (RFC 6184 §8.1): profile_idc, the constraint flags and level_idc, that is
// bytes 1..3 of the SPS NAL unit, as six upper-case hex digits. It returns
// "" when sps is shorter than 4 bytes.
func ProfileLevelID(sps []byte) string {
	if len(sps) < 4 {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(sps[1:4]))
}

// SpropParameterSets returns the sprop-parameter-sets of the SDP fmtp line
// (RFC 6184 §8.1): the base64 of the SPS and of the PPS, NAL units without
// start codes, separated by a comma. An empty parameter set is left out.
func SpropParameterSets(sps, pps []byte) string {
	var b strings.Builder
	for _, ps := range [][]byte{sps, pps} {
		if len(ps) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(base64.StdEncoding.EncodeToString(ps))
	}
	return b.String()
}
