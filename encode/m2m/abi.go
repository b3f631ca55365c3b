package m2m

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel structures of the multi-planar V4L2 API this package passes to
// ioctl, declared by hand from linux/videodev2.h and linux/v4l2-controls.h.
// Their sizes are part of the ioctl numbers, so a wrong layout makes the
// kernel answer ENOTTY; sizes, offsets and numbers for amd64, arm64 and
// 32-bit arm are pinned in abi_test.go.
//
// 32-bit ARM: struct v4l2_buffer and struct v4l2_event hold a struct
// timeval and a struct timespec. The layouts here are those of two 32-bit
// fields (unix.Timeval and unix.Timespec on GOARCH=arm), which every kernel
// accepts from 32-bit programs (as VIDIOC_QBUF_TIME32 and
// VIDIOC_DQEVENT_TIME32 since 5.6), like capture/v4l2. Timestamps are
// CLOCK_MONOTONIC, so 32-bit seconds do not overflow.

// Buffer types, memory types, flags and capabilities from videodev2.h.
const (
	bufTypeCaptureMplane = 9  // V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
	bufTypeOutputMplane  = 10 // V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
	memoryMMAP           = 1
	fieldNone            = 1

	bufFlagKeyframe  = 0x00000008
	bufFlagPFrame    = 0x00000010
	bufFlagBFrame    = 0x00000020
	bufFlagError     = 0x00000040
	bufFlagTSCopy    = 0x00004000
	bufFlagLast      = 0x00100000
	bufFlagTSMask    = 0x0000e000
	capVideoM2M      = 0x00008000
	capVideoM2MMplan = 0x00004000
	capStreaming     = 0x04000000
	capDeviceCaps    = 0x80000000
	capTimePerFrame  = 0x1000 // v4l2_outputparm.capability

	eventEOS          = 2
	eventSourceChange = 5

	encCmdStop = 1

	videoMaxPlanes = 8
)

// Control ids (linux/v4l2-controls.h).
const (
	cidCodecBase         = 0x00990900
	cidGOPSize           = cidCodecBase + 203
	cidBitrateMode       = cidCodecBase + 206
	cidBitrate           = cidCodecBase + 207
	cidHeaderMode        = cidCodecBase + 216
	cidRepeatSeqHeader   = cidCodecBase + 226
	cidForceKeyFrame     = cidCodecBase + 229
	cidFWHTIFrameQP      = cidCodecBase + 290
	cidFWHTPFrameQP      = cidCodecBase + 291
	cidH264IPeriod       = cidCodecBase + 358
	cidH264Level         = cidCodecBase + 359
	cidH264Profile       = cidCodecBase + 363
	cidMinBuffersForOut  = 0x00980928 // V4L2_CID_MIN_BUFFERS_FOR_OUTPUT
	h264ProfileCBaseline = 1          // V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE
	h264ProfileBaseline  = 0
	headerModeJoined     = 1 // V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME
	bitrateModeCBR       = 1
)

type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type v4l2FmtDesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

type v4l2PlanePixFormat struct {
	SizeImage    uint32
	BytesPerLine uint32
	Reserved     [6]uint16
}

type v4l2PixFormatMplane struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	Colorspace   uint32
	PlaneFmt     [videoMaxPlanes]v4l2PlanePixFormat
	NumPlanes    uint8
	Flags        uint8
	YCbCrEnc     uint8
	Quantization uint8
	XferFunc     uint8
	Reserved     [7]uint8
}

// v4l2Format is struct v4l2_format with its 200-byte union read as a
// v4l2_pix_format_mplane. The union holds pointers, so it is
// pointer-aligned: at offset 8 on 64-bit targets, 4 on 32-bit ones.
type v4l2Format struct {
	Type uint32
	Fmt  struct {
		_   [0]uintptr
		Pix v4l2PixFormatMplane
		_   [200 - unsafe.Sizeof(v4l2PixFormatMplane{})]byte
	}
}

type v4l2RequestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

type v4l2Timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

// v4l2Plane is struct v4l2_plane; M is its union (mem_offset for MMAP),
// as wide as an unsigned long.
type v4l2Plane struct {
	BytesUsed  uint32
	Length     uint32
	M          uintptr
	DataOffset uint32
	Reserved   [11]uint32
}

// v4l2Buffer is struct v4l2_buffer for the multi-planar API: its union m
// points at the planes, and Length counts them.
type v4l2Buffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp unix.Timeval
	Timecode  v4l2Timecode
	Sequence  uint32
	Memory    uint32
	Planes    *v4l2Plane
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

type v4l2Fract struct {
	Numerator   uint32
	Denominator uint32
}

type v4l2OutputParm struct {
	Capability   uint32
	OutputMode   uint32
	TimePerFrame v4l2Fract
	ExtendedMode uint32
	WriteBuffers uint32
	Reserved     [4]uint32
}

type v4l2StreamParm struct {
	Type   uint32
	Output v4l2OutputParm
	_      [200 - unsafe.Sizeof(v4l2OutputParm{})]byte
}

type v4l2Control struct {
	ID    uint32
	Value int32
}

type v4l2QueryCtrl struct {
	ID           uint32
	Type         uint32
	Name         [32]byte
	Minimum      int32
	Maximum      int32
	Step         int32
	DefaultValue int32
	Flags        uint32
	Reserved     [2]uint32
}

type v4l2EncoderCmd struct {
	Cmd   uint32
	Flags uint32
	Data  [8]uint32
}

type v4l2EventSubscription struct {
	Type     uint32
	ID       uint32
	Flags    uint32
	Reserved [5]uint32
}

// v4l2Event is struct v4l2_event. Its union holds 64-bit members, which
// the C ABIs of all three targets align to 8 (Go aligns int64 to 4 on
// arm), hence the explicit padding after Type and at the end.
type v4l2Event struct {
	Type      uint32
	_         uint32
	U         [64]byte
	Pending   uint32
	Sequence  uint32
	Timestamp unix.Timespec
	ID        uint32
	Reserved  [8]uint32
	_         uint32
}

// ioctl request numbers, built like the kernel's _IOC macros (the generic
// encoding used by x86, ARM and arm64).
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | uintptr('V')<<8 | nr
}

var (
	vidiocQueryCap       = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocEnumFmt        = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(v4l2FmtDesc{}))
	vidiocGFmt           = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(v4l2Format{}))
	vidiocSFmt           = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))
	vidiocReqBufs        = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2RequestBuffers{}))
	vidiocQueryBuf       = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQBuf           = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDQBuf          = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamOn       = ioc(iocWrite, 18, 4)
	vidiocStreamOff      = ioc(iocWrite, 19, 4)
	vidiocGParm          = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocSParm          = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocGCtrl          = ioc(iocRead|iocWrite, 27, unsafe.Sizeof(v4l2Control{}))
	vidiocSCtrl          = ioc(iocRead|iocWrite, 28, unsafe.Sizeof(v4l2Control{}))
	vidiocQueryCtrl      = ioc(iocRead|iocWrite, 36, unsafe.Sizeof(v4l2QueryCtrl{}))
	vidiocEncoderCmd     = ioc(iocRead|iocWrite, 77, unsafe.Sizeof(v4l2EncoderCmd{}))
	vidiocDQEvent        = ioc(iocRead, 89, unsafe.Sizeof(v4l2Event{}))
	vidiocSubscribeEvent = ioc(iocWrite, 90, unsafe.Sizeof(v4l2EventSubscription{}))
)

// ioctl calls ioctl(2), retrying on EINTR. It returns a unix.Errno.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// cstring returns the NUL-terminated string at the start of b.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
