//go:build linux && (amd64 || arm64)

// Command v4l2probe is the VM test's independent witness of what a V4L2
// driver does. It runs inside the test VM (never on a user's machine) and
// talks to the device with raw ioctls, sharing no code with capture/v4l2,
// so the test can compare camagent against the driver itself:
//
//	v4l2probe -info                      print the driver, card and capabilities
//	v4l2probe -frames N [-fps F] ...     capture N frames, one line each:
//	    frame SEQ TS_NS READ_NS FLAGS BYTESUSED
//	  TS_NS is the driver's buffer timestamp, READ_NS CLOCK_MONOTONIC read
//	  right after DQBUF returned (the "read time" camagent must not use).
//	v4l2probe -ctrl Disconnect           press a button control (or -value V)
//
// Only 64-bit layouts (amd64, arm64) are mirrored here.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mirrors of the kernel's structs (include/uapi/linux/videodev2.h), 64-bit.
type capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type pixFormat struct {
	Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
	Colorspace, Priv, Flags, YCbCrEnc, Quantization, XferFunc  uint32
}

type format struct {
	Type uint32
	_    uint32
	Pix  pixFormat
	_    [200 - unsafe.Sizeof(pixFormat{})]byte
}

type streamParm struct {
	Type         uint32
	Capability   uint32
	CaptureMode  uint32
	Numerator    uint32
	Denominator  uint32
	ExtendedMode uint32
	ReadBuffers  uint32
	_            [200 - 24]byte
}

type requestBuffers struct {
	Count, Type, Memory, Capabilities uint32
	Flags                             uint8
	_                                 [3]uint8
}

type buffer struct {
	Index, Type, BytesUsed, Flags, Field uint32
	_                                    uint32
	Sec, Usec                            int64
	Timecode                             [16]byte
	Sequence, Memory                     uint32
	Offset                               uint32 // union m: offset / userptr / planes / fd
	_                                    uint32
	Length, Reserved2, RequestFD         uint32
	_                                    uint32
}

type queryCtrl struct {
	ID, Type                             uint32
	Name                                 [32]byte
	Minimum, Maximum, Step, DefaultValue int32
	Flags                                uint32
	_                                    [2]uint32
}

type control struct {
	ID    uint32
	Value int32
}

const (
	bufTypeVideoCapture = 1
	memoryMMAP          = 1
	ctrlFlagNextCtrl    = 0x80000000
	ctrlFlagDisabled    = 0x0001
	ctrlTypeCtrlClass   = 6
)

func iowr(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 'V'<<8 | nr }
func ior(nr, size uintptr) uintptr  { return 2<<30 | size<<16 | 'V'<<8 | nr }
func iow(nr, size uintptr) uintptr  { return 1<<30 | size<<16 | 'V'<<8 | nr }

var (
	vidiocQueryCap  = ior(0, unsafe.Sizeof(capability{}))
	vidiocSFmt      = iowr(5, unsafe.Sizeof(format{}))
	vidiocReqBufs   = iowr(8, unsafe.Sizeof(requestBuffers{}))
	vidiocQueryBuf  = iowr(9, unsafe.Sizeof(buffer{}))
	vidiocQBuf      = iowr(15, unsafe.Sizeof(buffer{}))
	vidiocDQBuf     = iowr(17, unsafe.Sizeof(buffer{}))
	vidiocStreamOn  = iow(18, 4)
	vidiocStreamOff = iow(19, 4)
	vidiocGParm     = iowr(21, unsafe.Sizeof(streamParm{}))
	vidiocSParm     = iowr(22, unsafe.Sizeof(streamParm{}))
	vidiocSCtrl     = iowr(28, unsafe.Sizeof(control{}))
	vidiocQueryCtrl = iowr(36, unsafe.Sizeof(queryCtrl{}))
)

func init() {
	// The ioctl numbers encode these sizes; a wrong mirror gets ENOTTY.
	if unsafe.Sizeof(buffer{}) != 88 || unsafe.Sizeof(format{}) != 208 ||
		unsafe.Sizeof(streamParm{}) != 204 || unsafe.Sizeof(queryCtrl{}) != 68 ||
		unsafe.Sizeof(capability{}) != 104 || unsafe.Sizeof(requestBuffers{}) != 20 {
		panic("v4l2probe: struct mirror sizes do not match the kernel's")
	}
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func fourcc(s string) uint32 {
	var b [4]byte
	copy(b[:], s)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func main() {
	dev := flag.String("device", "/dev/video0", "V4L2 device")
	info := flag.Bool("info", false, "print driver, card and capabilities")
	frames := flag.Int("frames", 0, "capture this many frames")
	width := flag.Int("width", 640, "width for -frames")
	height := flag.Int("height", 480, "height for -frames")
	pixfmt := flag.String("format", "YUYV", "FourCC for -frames")
	fps := flag.Int("fps", 0, "S_PARM to this rate before -frames; 0 leaves the driver's")
	ctrl := flag.String("ctrl", "", "set this control (by name, case-insensitive)")
	value := flag.Int("value", 1, "value for -ctrl")
	flag.Parse()

	fd, err := unix.Open(*dev, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		fail("open %s: %v", *dev, err)
	}
	defer unix.Close(fd)
	if *info {
		var c capability
		if err := ioctl(fd, vidiocQueryCap, unsafe.Pointer(&c)); err != nil {
			fail("VIDIOC_QUERYCAP: %v", err)
		}
		fmt.Printf("info driver=%s card=%q caps=0x%08x device_caps=0x%08x\n",
			cstr(c.Driver[:]), cstr(c.Card[:]), c.Capabilities, c.DeviceCaps)
	}
	if *ctrl != "" {
		if err := setControl(fd, *ctrl, int32(*value)); err != nil {
			fail("%v", err)
		}
		fmt.Printf("ctrl %s=%d\n", *ctrl, *value)
	}
	if *frames > 0 {
		if err := capture(fd, *frames, *width, *height, fourcc(*pixfmt), *fps); err != nil {
			fail("%v", err)
		}
	}
}

func fail(f string, args ...any) {
	fmt.Fprintf(os.Stderr, "v4l2probe: "+f+"\n", args...)
	os.Exit(1)
}

func setControl(fd int, name string, v int32) error {
	q := queryCtrl{ID: ctrlFlagNextCtrl}
	var names []string
	for ioctl(fd, vidiocQueryCtrl, unsafe.Pointer(&q)) == nil {
		n := cstr(q.Name[:])
		if q.Type != ctrlTypeCtrlClass && q.Flags&ctrlFlagDisabled == 0 {
			if strings.EqualFold(n, name) {
				c := control{ID: q.ID, Value: v}
				if err := ioctl(fd, vidiocSCtrl, unsafe.Pointer(&c)); err != nil {
					return fmt.Errorf("VIDIOC_S_CTRL %s: %w", n, err)
				}
				return nil
			}
			names = append(names, n)
		}
		q.ID |= ctrlFlagNextCtrl
	}
	return fmt.Errorf("no control %q; the device has: %s", name, strings.Join(names, ", "))
}

func capture(fd, n, w, h int, pf uint32, fps int) error {
	f := format{Type: bufTypeVideoCapture, Pix: pixFormat{Width: uint32(w), Height: uint32(h), PixelFormat: pf}}
	if err := ioctl(fd, vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return fmt.Errorf("VIDIOC_S_FMT: %w", err)
	}
	p := streamParm{Type: bufTypeVideoCapture}
	if fps > 0 {
		p.Numerator, p.Denominator = 1, uint32(fps)
		if err := ioctl(fd, vidiocSParm, unsafe.Pointer(&p)); err != nil {
			return fmt.Errorf("VIDIOC_S_PARM: %w", err)
		}
	} else if err := ioctl(fd, vidiocGParm, unsafe.Pointer(&p)); err != nil {
		return fmt.Errorf("VIDIOC_G_PARM: %w", err)
	}
	fmt.Printf("mode %dx%d fourcc=0x%08x interval=%d/%d\n", f.Pix.Width, f.Pix.Height, f.Pix.PixelFormat, p.Numerator, p.Denominator)

	rb := requestBuffers{Count: 4, Type: bufTypeVideoCapture, Memory: memoryMMAP}
	if err := ioctl(fd, vidiocReqBufs, unsafe.Pointer(&rb)); err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS: %w", err)
	}
	for i := uint32(0); i < rb.Count; i++ {
		b := buffer{Index: i, Type: bufTypeVideoCapture, Memory: memoryMMAP}
		if err := ioctl(fd, vidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_QUERYBUF: %w", err)
		}
		if _, err := unix.Mmap(fd, int64(b.Offset), int(b.Length), unix.PROT_READ, unix.MAP_SHARED); err != nil {
			return fmt.Errorf("mmap: %w", err)
		}
		if err := ioctl(fd, vidiocQBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_QBUF: %w", err)
		}
	}
	typ := uint32(bufTypeVideoCapture)
	if err := ioctl(fd, vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	defer ioctl(fd, vidiocStreamOff, unsafe.Pointer(&typ))
	out := make([]byte, 0, 96)
	for range n {
		b := buffer{Type: bufTypeVideoCapture, Memory: memoryMMAP}
		if err := ioctl(fd, vidiocDQBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_DQBUF: %w", err)
		}
		var now unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
			return err
		}
		ts := b.Sec*1e9 + b.Usec*1e3
		out = fmt.Appendf(out[:0], "frame %d %d %d 0x%x %d\n", b.Sequence, ts, now.Nano(), b.Flags, b.BytesUsed)
		os.Stdout.Write(out)
		if err := ioctl(fd, vidiocQBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_QBUF: %w", err)
		}
	}
	return nil
}
