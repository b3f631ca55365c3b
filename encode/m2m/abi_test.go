package m2m

import (
	"runtime"
	"testing"
	"unsafe"
)

// The kernel ABI per architecture: sizes, offsets and ioctl numbers from
// linux/videodev2.h as compiled by gcc for each target (arm: Debian's
// armhf gcc, 32-bit time_t). Run the arm table with
// `GOARCH=arm GOARM=6 go test -exec qemu-arm-static -run ABI ./encode/m2m`.
type abi struct {
	sizes, offsets, ioctls map[string]uintptr
}

var abi64 = abi{
	sizes: map[string]uintptr{
		"v4l2_capability": 104, "v4l2_format": 208, "v4l2_pix_format_mplane": 192, "v4l2_plane_pix_format": 20,
		"v4l2_plane": 64, "v4l2_buffer": 88, "v4l2_requestbuffers": 20, "v4l2_streamparm": 204,
		"v4l2_outputparm": 40, "v4l2_fmtdesc": 64, "v4l2_encoder_cmd": 40, "v4l2_event": 136,
		"v4l2_event_subscription": 32, "v4l2_control": 8, "v4l2_queryctrl": 68,
	},
	offsets: map[string]uintptr{
		"format.fmt": 8, "pix_format_mplane.plane_fmt": 20, "pix_format_mplane.num_planes": 180,
		"plane.m": 8, "plane.data_offset": 16,
		"buffer.timestamp": 24, "buffer.sequence": 56, "buffer.m": 64, "buffer.length": 72, "buffer.request_fd": 80,
		"event.u": 8, "event.pending": 72, "event.sequence": 76, "event.timestamp": 80, "event.id": 96,
	},
	ioctls: map[string]uintptr{
		"VIDIOC_G_FMT": 0xc0d05604, "VIDIOC_S_FMT": 0xc0d05605,
		"VIDIOC_QUERYBUF": 0xc0585609, "VIDIOC_QBUF": 0xc058560f, "VIDIOC_DQBUF": 0xc0585611,
		"VIDIOC_DQEVENT": 0x80885659,
	},
}

var abiArm = abi{
	sizes: map[string]uintptr{
		"v4l2_capability": 104, "v4l2_format": 204, "v4l2_pix_format_mplane": 192, "v4l2_plane_pix_format": 20,
		"v4l2_plane": 60, "v4l2_buffer": 68, "v4l2_requestbuffers": 20, "v4l2_streamparm": 204,
		"v4l2_outputparm": 40, "v4l2_fmtdesc": 64, "v4l2_encoder_cmd": 40, "v4l2_event": 128,
		"v4l2_event_subscription": 32, "v4l2_control": 8, "v4l2_queryctrl": 68,
	},
	offsets: map[string]uintptr{
		"format.fmt": 4, "pix_format_mplane.plane_fmt": 20, "pix_format_mplane.num_planes": 180,
		"plane.m": 8, "plane.data_offset": 12,
		"buffer.timestamp": 20, "buffer.sequence": 44, "buffer.m": 52, "buffer.length": 56, "buffer.request_fd": 64,
		"event.u": 8, "event.pending": 72, "event.sequence": 76, "event.timestamp": 80, "event.id": 88,
	},
	ioctls: map[string]uintptr{
		"VIDIOC_G_FMT": 0xc0cc5604, "VIDIOC_S_FMT": 0xc0cc5605,
		"VIDIOC_QUERYBUF": 0xc0445609, "VIDIOC_QBUF": 0xc044560f, "VIDIOC_DQBUF": 0xc0445611,
		"VIDIOC_DQEVENT": 0x80805659,
	},
}

// The same on every architecture.
var ioctlsCommon = map[string]uintptr{
	"VIDIOC_QUERYCAP": 0x80685600, "VIDIOC_ENUM_FMT": 0xc0405602, "VIDIOC_REQBUFS": 0xc0145608,
	"VIDIOC_STREAMON": 0x40045612, "VIDIOC_STREAMOFF": 0x40045613,
	"VIDIOC_G_PARM": 0xc0cc5615, "VIDIOC_S_PARM": 0xc0cc5616,
	"VIDIOC_G_CTRL": 0xc008561b, "VIDIOC_S_CTRL": 0xc008561c, "VIDIOC_QUERYCTRL": 0xc0445624,
	"VIDIOC_ENCODER_CMD": 0xc028564d, "VIDIOC_SUBSCRIBE_EVENT": 0x4020565a,
}

func TestABI(t *testing.T) {
	var want abi
	switch runtime.GOARCH {
	case "amd64", "arm64":
		want = abi64
	case "arm":
		want = abiArm
	default:
		t.Skipf("no ABI table for GOARCH=%s", runtime.GOARCH)
	}
	var (
		pm  v4l2PixFormatMplane
		fm  v4l2Format
		pl  v4l2Plane
		buf v4l2Buffer
		ev  v4l2Event
	)
	sizes := map[string]uintptr{
		"v4l2_capability": unsafe.Sizeof(v4l2Capability{}), "v4l2_format": unsafe.Sizeof(fm),
		"v4l2_pix_format_mplane": unsafe.Sizeof(pm), "v4l2_plane_pix_format": unsafe.Sizeof(v4l2PlanePixFormat{}),
		"v4l2_plane": unsafe.Sizeof(pl), "v4l2_buffer": unsafe.Sizeof(buf),
		"v4l2_requestbuffers": unsafe.Sizeof(v4l2RequestBuffers{}), "v4l2_streamparm": unsafe.Sizeof(v4l2StreamParm{}),
		"v4l2_outputparm": unsafe.Sizeof(v4l2OutputParm{}), "v4l2_fmtdesc": unsafe.Sizeof(v4l2FmtDesc{}),
		"v4l2_encoder_cmd": unsafe.Sizeof(v4l2EncoderCmd{}), "v4l2_event": unsafe.Sizeof(ev),
		"v4l2_event_subscription": unsafe.Sizeof(v4l2EventSubscription{}), "v4l2_control": unsafe.Sizeof(v4l2Control{}),
		"v4l2_queryctrl": unsafe.Sizeof(v4l2QueryCtrl{}),
	}
	offsets := map[string]uintptr{
		"format.fmt": unsafe.Offsetof(fm.Fmt), "pix_format_mplane.plane_fmt": unsafe.Offsetof(pm.PlaneFmt),
		"pix_format_mplane.num_planes": unsafe.Offsetof(pm.NumPlanes),
		"plane.m":                      unsafe.Offsetof(pl.M), "plane.data_offset": unsafe.Offsetof(pl.DataOffset),
		"buffer.timestamp": unsafe.Offsetof(buf.Timestamp), "buffer.sequence": unsafe.Offsetof(buf.Sequence),
		"buffer.m": unsafe.Offsetof(buf.Planes), "buffer.length": unsafe.Offsetof(buf.Length),
		"buffer.request_fd": unsafe.Offsetof(buf.RequestFD),
		"event.u":           unsafe.Offsetof(ev.U), "event.pending": unsafe.Offsetof(ev.Pending),
		"event.sequence": unsafe.Offsetof(ev.Sequence), "event.timestamp": unsafe.Offsetof(ev.Timestamp),
		"event.id": unsafe.Offsetof(ev.ID),
	}
	ioctls := map[string]uintptr{
		"VIDIOC_QUERYCAP": vidiocQueryCap, "VIDIOC_ENUM_FMT": vidiocEnumFmt, "VIDIOC_G_FMT": vidiocGFmt,
		"VIDIOC_S_FMT": vidiocSFmt, "VIDIOC_REQBUFS": vidiocReqBufs, "VIDIOC_QUERYBUF": vidiocQueryBuf,
		"VIDIOC_QBUF": vidiocQBuf, "VIDIOC_DQBUF": vidiocDQBuf, "VIDIOC_STREAMON": vidiocStreamOn,
		"VIDIOC_STREAMOFF": vidiocStreamOff, "VIDIOC_G_PARM": vidiocGParm, "VIDIOC_S_PARM": vidiocSParm,
		"VIDIOC_G_CTRL": vidiocGCtrl, "VIDIOC_S_CTRL": vidiocSCtrl, "VIDIOC_QUERYCTRL": vidiocQueryCtrl,
		"VIDIOC_ENCODER_CMD": vidiocEncoderCmd, "VIDIOC_DQEVENT": vidiocDQEvent,
		"VIDIOC_SUBSCRIBE_EVENT": vidiocSubscribeEvent,
	}
	for name, w := range want.sizes {
		if got := sizes[name]; got != w {
			t.Errorf("sizeof(struct %s) = %d on %s, want %d", name, got, runtime.GOARCH, w)
		}
	}
	for name, w := range want.offsets {
		if got, ok := offsets[name]; !ok || got != w {
			t.Errorf("offsetof(%s) = %d on %s, want %d", name, got, runtime.GOARCH, w)
		}
	}
	for _, m := range []map[string]uintptr{want.ioctls, ioctlsCommon} {
		for name, w := range m {
			if got, ok := ioctls[name]; !ok || got != w {
				t.Errorf("%s = %#x on %s, want %#x", name, got, runtime.GOARCH, w)
			}
		}
	}
}

// TestControlIDs pins the control ids and values against
// linux/v4l2-controls.h.
func TestControlIDs(t *testing.T) {
	for name, c := range map[string][2]uint32{
		"GOP_SIZE": {cidGOPSize, 0x9909cb}, "BITRATE": {cidBitrate, 0x9909cf}, "BITRATE_MODE": {cidBitrateMode, 0x9909ce},
		"HEADER_MODE": {cidHeaderMode, 0x9909d8}, "REPEAT_SEQ_HEADER": {cidRepeatSeqHeader, 0x9909e2},
		"FORCE_KEY_FRAME": {cidForceKeyFrame, 0x9909e5}, "FWHT_I_FRAME_QP": {cidFWHTIFrameQP, 0x990a22},
		"FWHT_P_FRAME_QP": {cidFWHTPFrameQP, 0x990a23}, "H264_I_PERIOD": {cidH264IPeriod, 0x990a66},
		"H264_LEVEL": {cidH264Level, 0x990a67}, "H264_PROFILE": {cidH264Profile, 0x990a6b},
		"MIN_BUFFERS_FOR_OUTPUT": {cidMinBuffersForOut, 0x980928},
		"PIX_FMT_FWHT":           {fwhtFourCC, 0x54485746}, "FWHT_FL_I_FRAME": {fwhtFlIFrame, 0x400},
		"BUF_FLAG_LAST": {bufFlagLast, 0x100000},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %#x, want %#x", name, c[0], c[1])
		}
	}
}
