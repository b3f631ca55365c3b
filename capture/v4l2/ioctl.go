package v4l2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel structures this package passes to ioctl, declared by hand from
// the kernel's uapi header linux/videodev2.h. Their sizes are part of the
// ioctl numbers, so a wrong layout makes the kernel answer ENOTTY; the sizes
// and numbers for amd64, arm64 and arm are pinned in ioctl_test.go.
//
// 32-bit ARM: struct v4l2_buffer holds a struct timeval. The layout used
// here is the one with two 32-bit fields (68 bytes), which every kernel
// accepts from 32-bit programs: older kernels as their only VIDIOC_QBUF,
// kernels since 5.6 as VIDIOC_QBUF_TIME32 (CONFIG_COMPAT_32BIT_TIME, on in
// Debian's and Raspberry Pi OS's kernels), whether the kernel itself is
// 32-bit or a 64-bit kernel running a 32-bit user space. The timestamp is
// CLOCK_MONOTONIC, time since boot, so 32-bit seconds do not overflow.
// unix.Timeval has exactly this layout on GOARCH=arm, and the 64-bit one
// (two int64) on amd64 and arm64.

// Buffer types, memory types and flags from videodev2.h.
const (
	bufTypeVideoCapture = 1
	memoryMMAP          = 1

	bufFlagMapped             = 0x00000001
	bufFlagQueued             = 0x00000002
	bufFlagDone               = 0x00000004
	bufFlagError              = 0x00000040
	bufFlagTimestampMask      = 0x0000e000
	bufFlagTimestampMonotonic = 0x00002000

	capVideoCapture       = 0x00000001
	capVideoOutput        = 0x00000002
	capVideoOverlay       = 0x00000004
	capVBICapture         = 0x00000010
	capVideoCaptureMplane = 0x00001000
	capVideoOutputMplane  = 0x00002000
	capVideoM2MMplane     = 0x00004000
	capVideoM2M           = 0x00008000
	capTuner              = 0x00010000
	capAudio              = 0x00020000
	capRadio              = 0x00040000
	capSDRCapture         = 0x00100000
	capMetaCapture        = 0x00800000
	capReadWrite          = 0x01000000
	capStreaming          = 0x04000000
	capMetaOutput         = 0x08000000
	capTouch              = 0x10000000
	capIOMC               = 0x20000000
	capDeviceCaps         = 0x80000000

	capTimePerFrame = 0x1000 // v4l2_captureparm.capability

	ctrlFlagDisabled     = 0x0001
	ctrlFlagReadOnly     = 0x0004
	ctrlFlagInactive     = 0x0010
	ctrlFlagWriteOnly    = 0x0040
	ctrlFlagNextCtrl     = 0x80000000
	ctrlFlagNextCompound = 0x40000000

	ctrlTypeInteger     = 1
	ctrlTypeBoolean     = 2
	ctrlTypeMenu        = 3
	ctrlTypeButton      = 4
	ctrlTypeInteger64   = 5
	ctrlTypeCtrlClass   = 6
	ctrlTypeString      = 7
	ctrlTypeBitmask     = 8
	ctrlTypeIntegerMenu = 9
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

type v4l2PixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YCbCrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

// v4l2Format is struct v4l2_format with its 200-byte union read as a
// v4l2_pix_format. The union holds pointers (struct v4l2_window), so it is
// pointer-aligned: at offset 8 on 64-bit targets, 4 on 32-bit ones.
type v4l2Format struct {
	Type uint32
	Fmt  struct {
		_   [0]uintptr
		Pix v4l2PixFormat
		_   [200 - unsafe.Sizeof(v4l2PixFormat{})]byte
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

// ptrPad pads the pointer-sized union m of struct v4l2_buffer after its
// 32-bit offset member.
const ptrPad = unsafe.Sizeof(uintptr(0)) - 4

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
	Offset    uint32 // union m: offset for V4L2_MEMORY_MMAP
	_         [ptrPad]byte
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

type v4l2Fract struct {
	Numerator   uint32
	Denominator uint32
}

type v4l2CaptureParm struct {
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame v4l2Fract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
}

type v4l2StreamParm struct {
	Type    uint32
	Capture v4l2CaptureParm
	_       [200 - unsafe.Sizeof(v4l2CaptureParm{})]byte
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

type v4l2QueryExtCtrl struct {
	ID           uint32
	Type         uint32
	Name         [32]byte
	Minimum      int64
	Maximum      int64
	Step         uint64
	DefaultValue int64
	Flags        uint32
	ElemSize     uint32
	Elems        uint32
	NrOfDims     uint32
	Dims         [4]uint32
	Reserved     [32]uint32
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
	vidiocQueryCap     = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocGFmt         = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(v4l2Format{}))
	vidiocReqBufs      = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2RequestBuffers{}))
	vidiocQueryBuf     = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQBuf         = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDQBuf        = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamOn     = ioc(iocWrite, 18, 4)
	vidiocStreamOff    = ioc(iocWrite, 19, 4)
	vidiocGParm        = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocSParm        = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocGCtrl        = ioc(iocRead|iocWrite, 27, unsafe.Sizeof(v4l2Control{}))
	vidiocSCtrl        = ioc(iocRead|iocWrite, 28, unsafe.Sizeof(v4l2Control{}))
	vidiocQueryCtrl    = ioc(iocRead|iocWrite, 36, unsafe.Sizeof(v4l2QueryCtrl{}))
	vidiocQueryExtCtrl = ioc(iocRead|iocWrite, 103, unsafe.Sizeof(v4l2QueryExtCtrl{}))
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
