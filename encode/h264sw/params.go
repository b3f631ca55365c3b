package h264sw

import "fmt"

// NAL unit types and reference priorities the encoder emits.
const (
	naluSlice = 1 // coded slice of a non-IDR picture
	naluIDR   = 5 // coded slice of an IDR picture
	naluSPS   = 7
	naluPPS   = 8

	refIdcHigh = 3 // SPS, PPS, IDR
	refIdcP    = 2 // P pictures (all are references)
)

// log2MaxFrameNum is log2(MaxFrameNum) written in the SPS.
const log2MaxFrameNum = 4

// level is one row of H.264 Table A-1.
type level struct {
	idc     uint8
	maxMBPS int // macroblocks per second
	maxFS   int // macroblocks per frame
}

var levels = []level{
	{10, 1485, 99},
	{11, 3000, 396},
	{12, 6000, 396},
	{13, 11880, 396},
	{20, 11880, 396},
	{21, 19800, 792},
	{22, 20250, 1620},
	{30, 40500, 1620},
	{31, 108000, 3600},
	{32, 216000, 5120},
	{40, 245760, 8192},
	{42, 522240, 8704},
	{50, 589824, 22080},
	{51, 983040, 36864},
	{52, 2073600, 36864},
	{60, 4177920, 139264},
	{61, 8355840, 139264},
	{62, 16711680, 139264},
}

// chooseLevel returns the lowest level_idc whose frame size and macroblock
// rate limits (including the 8*MaxFS bound on each dimension) admit a
// picture of mbW x mbH macroblocks at fps.
func chooseLevel(mbW, mbH, fps int) (uint8, error) {
	fs := mbW * mbH
	for _, l := range levels {
		if fs <= l.maxFS && fs*fps <= l.maxMBPS && mbW*mbW <= 8*l.maxFS && mbH*mbH <= 8*l.maxFS {
			return l.idc, nil
		}
	}
	return 0, fmt.Errorf("%w: %dx%d macroblocks at %d fps exceed level 6.2", ErrConfig, mbW, mbH, fps)
}

// writeNALHeader appends the one-byte NAL unit header.
func nalHeader(refIdc, typ byte) byte { return refIdc<<5 | typ }

// buildSPS returns the escaped SPS NAL unit (header included) for the
// encoder's geometry: Constrained Baseline, pic_order_cnt_type 2, one
// reference frame, frame cropping for sizes that are not multiples of 16,
// and VUI timing plus bitstream restrictions (no reordering).
func buildSPS(w *bitWriter, g geometry, fps int, levelIdc uint8) []byte {
	w.reset()
	w.writeBits(66, 8)         // profile_idc: Baseline
	w.writeBits(0b11000000, 8) // constraint_set0_flag, constraint_set1_flag (Constrained Baseline)
	w.writeBits(uint32(levelIdc), 8)
	w.writeUE(0) // seq_parameter_set_id
	w.writeUE(log2MaxFrameNum - 4)
	w.writeUE(2)                 // pic_order_cnt_type
	w.writeUE(1)                 // max_num_ref_frames
	w.writeFlag(false)           // gaps_in_frame_num_value_allowed_flag
	w.writeUE(uint32(g.mbW - 1)) // pic_width_in_mbs_minus1
	w.writeUE(uint32(g.mbH - 1)) // pic_height_in_map_units_minus1
	w.writeFlag(true)            // frame_mbs_only_flag
	w.writeFlag(true)            // direct_8x8_inference_flag
	cropR, cropB := (g.padW-g.width)/2, (g.padH-g.height)/2
	w.writeFlag(cropR != 0 || cropB != 0) // frame_cropping_flag
	if cropR != 0 || cropB != 0 {
		w.writeUE(0) // left
		w.writeUE(uint32(cropR))
		w.writeUE(0) // top
		w.writeUE(uint32(cropB))
	}
	w.writeFlag(true)              // vui_parameters_present_flag
	w.writeFlag(false)             // aspect_ratio_info_present_flag
	w.writeFlag(false)             // overscan_info_present_flag
	w.writeFlag(false)             // video_signal_type_present_flag
	w.writeFlag(false)             // chroma_loc_info_present_flag
	w.writeFlag(true)              // timing_info_present_flag
	w.writeBits(1, 32)             // num_units_in_tick
	w.writeBits(uint32(2*fps), 32) // time_scale: two ticks per frame
	w.writeFlag(false)             // fixed_frame_rate_flag: cameras may drop frames
	w.writeFlag(false)             // nal_hrd_parameters_present_flag
	w.writeFlag(false)             // vcl_hrd_parameters_present_flag
	w.writeFlag(false)             // pic_struct_present_flag
	w.writeFlag(true)              // bitstream_restriction_flag
	w.writeFlag(true)              // motion_vectors_over_pic_boundaries_flag
	w.writeUE(0)                   // max_bytes_per_pic_denom: no limit
	w.writeUE(0)                   // max_bits_per_mb_denom: no limit (I_PCM)
	w.writeUE(15)                  // log2_max_mv_length_horizontal
	w.writeUE(15)                  // log2_max_mv_length_vertical
	w.writeUE(0)                   // max_num_reorder_frames
	w.writeUE(1)                   // max_dec_frame_buffering
	w.trailing()
	return appendEscaped([]byte{nalHeader(refIdcHigh, naluSPS)}, w.bytes())
}

// buildPPS returns the escaped PPS NAL unit: CAVLC, one slice group, QP 26,
// deblocking filter control present so slices can switch the filter off.
func buildPPS(w *bitWriter) []byte {
	w.reset()
	w.writeUE(0)       // pic_parameter_set_id
	w.writeUE(0)       // seq_parameter_set_id
	w.writeFlag(false) // entropy_coding_mode_flag: CAVLC
	w.writeFlag(false) // bottom_field_pic_order_in_frame_present_flag
	w.writeUE(0)       // num_slice_groups_minus1
	w.writeUE(0)       // num_ref_idx_l0_default_active_minus1
	w.writeUE(0)       // num_ref_idx_l1_default_active_minus1
	w.writeFlag(false) // weighted_pred_flag
	w.writeBits(0, 2)  // weighted_bipred_idc
	w.writeSE(0)       // pic_init_qp_minus26
	w.writeSE(0)       // pic_init_qs_minus26
	w.writeSE(0)       // chroma_qp_index_offset
	w.writeFlag(true)  // deblocking_filter_control_present_flag
	w.writeFlag(false) // constrained_intra_pred_flag
	w.writeFlag(false) // redundant_pic_cnt_present_flag
	w.trailing()
	return appendEscaped([]byte{nalHeader(refIdcHigh, naluPPS)}, w.bytes())
}
