package v4l2

import (
	"runtime"
	"testing"
	"unsafe"
)

// The kernel ABI per architecture: sizes and offsets from linux/videodev2.h
// as compiled for each target, and the ioctl numbers they make. Run on
// GOARCH=arm with `GOARCH=arm GOARM=6 go test -exec qemu-arm-static`.
type abi struct {
	sizes   map[string]uintptr
	offsets map[string]uintptr
	ioctls  map[string]uintptr
}

var abi64 = abi{
	sizes: map[string]uintptr{
		"v4l2_capability": 104, "v4l2_format": 208, "v4l2_requestbuffers": 20, "v4l2_buffer": 88,
		"v4l2_streamparm": 204, "v4l2_control": 8, "v4l2_queryctrl": 68, "v4l2_query_ext_ctrl": 232,
	},
	offsets: map[string]uintptr{
		"format.fmt": 8, "buffer.timestamp": 24, "buffer.sequence": 56, "buffer.m": 64,
		"buffer.length": 72, "buffer.request_fd": 80,
	},
	ioctls: map[string]uintptr{
		"VIDIOC_QUERYCAP": 0x80685600, "VIDIOC_G_FMT": 0xc0d05604, "VIDIOC_REQBUFS": 0xc0145608,
		"VIDIOC_QUERYBUF": 0xc0585609, "VIDIOC_QBUF": 0xc058560f, "VIDIOC_DQBUF": 0xc0585611,
	},
}

// 32-bit ARM: the struct timeval of two 32-bit fields (VIDIOC_*BUF_TIME32
// on kernels ≥ 5.6, the only variant before), pointer-sized unions of 4 bytes.
var abiArm = abi{
	sizes: map[string]uintptr{
		"v4l2_capability": 104, "v4l2_format": 204, "v4l2_requestbuffers": 20, "v4l2_buffer": 68,
		"v4l2_streamparm": 204, "v4l2_control": 8, "v4l2_queryctrl": 68, "v4l2_query_ext_ctrl": 232,
	},
	offsets: map[string]uintptr{
		"format.fmt": 4, "buffer.timestamp": 20, "buffer.sequence": 44, "buffer.m": 52,
		"buffer.length": 56, "buffer.request_fd": 64,
	},
	ioctls: map[string]uintptr{
		"VIDIOC_QUERYCAP": 0x80685600, "VIDIOC_G_FMT": 0xc0cc5604, "VIDIOC_REQBUFS": 0xc0145608,
		"VIDIOC_QUERYBUF": 0xc0445609, "VIDIOC_QBUF": 0xc044560f, "VIDIOC_DQBUF": 0xc0445611,
	},
}

// The same on every architecture.
var ioctlsCommon = map[string]uintptr{
	"VIDIOC_STREAMON": 0x40045612, "VIDIOC_STREAMOFF": 0x40045613,
	"VIDIOC_G_PARM": 0xc0cc5615, "VIDIOC_S_PARM": 0xc0cc5616,
	"VIDIOC_G_CTRL": 0xc008561b, "VIDIOC_S_CTRL": 0xc008561c,
	"VIDIOC_QUERYCTRL": 0xc0445624, "VIDIOC_QUERY_EXT_CTRL": 0xc0e85667,
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
		fm  v4l2Format
		buf v4l2Buffer
	)
	sizes := map[string]uintptr{
		"v4l2_capability":     unsafe.Sizeof(v4l2Capability{}),
		"v4l2_format":         unsafe.Sizeof(fm),
		"v4l2_requestbuffers": unsafe.Sizeof(v4l2RequestBuffers{}),
		"v4l2_buffer":         unsafe.Sizeof(buf),
		"v4l2_streamparm":     unsafe.Sizeof(v4l2StreamParm{}),
		"v4l2_control":        unsafe.Sizeof(v4l2Control{}),
		"v4l2_queryctrl":      unsafe.Sizeof(v4l2QueryCtrl{}),
		"v4l2_query_ext_ctrl": unsafe.Sizeof(v4l2QueryExtCtrl{}),
	}
	offsets := map[string]uintptr{
		"format.fmt":        unsafe.Offsetof(fm.Fmt),
		"buffer.timestamp":  unsafe.Offsetof(buf.Timestamp),
		"buffer.sequence":   unsafe.Offsetof(buf.Sequence),
		"buffer.m":          unsafe.Offsetof(buf.Offset),
		"buffer.length":     unsafe.Offsetof(buf.Length),
		"buffer.request_fd": unsafe.Offsetof(buf.RequestFD),
	}
	ioctls := map[string]uintptr{
		"VIDIOC_QUERYCAP": vidiocQueryCap, "VIDIOC_G_FMT": vidiocGFmt, "VIDIOC_REQBUFS": vidiocReqBufs,
		"VIDIOC_QUERYBUF": vidiocQueryBuf, "VIDIOC_QBUF": vidiocQBuf, "VIDIOC_DQBUF": vidiocDQBuf,
		"VIDIOC_STREAMON": vidiocStreamOn, "VIDIOC_STREAMOFF": vidiocStreamOff,
		"VIDIOC_G_PARM": vidiocGParm, "VIDIOC_S_PARM": vidiocSParm,
		"VIDIOC_G_CTRL": vidiocGCtrl, "VIDIOC_S_CTRL": vidiocSCtrl,
		"VIDIOC_QUERYCTRL": vidiocQueryCtrl, "VIDIOC_QUERY_EXT_CTRL": vidiocQueryExtCtrl,
	}
	for name, w := range want.sizes {
		if got := sizes[name]; got != w {
			t.Errorf("sizeof(struct %s) = %d on %s, want %d", name, got, runtime.GOARCH, w)
		}
	}
	for name, w := range want.offsets {
		if got := offsets[name]; got != w {
			t.Errorf("offsetof(%s) = %d on %s, want %d", name, got, runtime.GOARCH, w)
		}
	}
	for name, w := range want.ioctls {
		if got := ioctls[name]; got != w {
			t.Errorf("%s = %#x on %s, want %#x", name, got, runtime.GOARCH, w)
		}
	}
	for name, w := range ioctlsCommon {
		if got := ioctls[name]; got != w {
			t.Errorf("%s = %#x on %s, want %#x", name, got, runtime.GOARCH, w)
		}
	}
}
