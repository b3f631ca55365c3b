package interop

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/camagent/camagent/capture/testsrc"
)

// gortsplibRead plays url with the gortsplib client over protocol and
// returns n access units (H.264 as Annex-B, or JPEG images), and how far
// the wall clock the sender reports give for the first frame is from now.
func gortsplibRead(t *testing.T, url, codec string, protocol gortsplib.Protocol, n int) (aus [][]byte, ntpSkew time.Duration) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &protocol}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}

	var (
		mu     sync.Mutex
		done   = make(chan struct{})
		skewOK bool
	)
	collect := func(pkt *rtp.Packet, medi any, au []byte) {
		mu.Lock()
		defer mu.Unlock()
		if len(aus) >= n {
			return
		}
		aus = append(aus, au)
		if len(aus) == n {
			close(done)
		}
	}
	switch codec {
	case "h264":
		var forma *format.H264
		medi := desc.FindFormat(&forma)
		if medi == nil {
			t.Fatal("no H.264 track in the SDP")
		}
		if forma.PacketizationMode != 1 || len(forma.SPS) == 0 || len(forma.PPS) == 0 {
			t.Fatalf("SDP format %+v: want packetization-mode 1 and sprop-parameter-sets", forma)
		}
		dec, err := forma.CreateDecoder()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
			t.Fatalf("SETUP: %v", err)
		}
		c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
			nalus, err := dec.Decode(pkt)
			if err != nil {
				return // more packets needed
			}
			if ntp, ok := c.PacketNTP(medi, pkt); ok && !skewOK {
				mu.Lock()
				ntpSkew, skewOK = time.Since(ntp), true
				mu.Unlock()
			}
			b, _ := h264.AnnexB(nalus).Marshal()
			collect(pkt, medi, b)
		})
	case "mjpeg":
		var forma *format.MJPEG
		medi := desc.FindFormat(&forma)
		if medi == nil {
			t.Fatal("no MJPEG track in the SDP")
		}
		dec, err := forma.CreateDecoder()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
			t.Fatalf("SETUP: %v", err)
		}
		c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
			img, err := dec.Decode(pkt)
			if err != nil {
				return
			}
			if ntp, ok := c.PacketNTP(medi, pkt); ok && !skewOK {
				mu.Lock()
				ntpSkew, skewOK = time.Since(ntp), true
				mu.Unlock()
			}
			collect(pkt, medi, bytes.Clone(img))
		})
	}
	if _, err := c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("gortsplib received %d of %d frames in 30 s", len(aus), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !skewOK {
		t.Fatal("gortsplib could not map any frame to wall-clock time: no usable sender report")
	}
	return aus, ntpSkew
}

// decodeH264 decodes an Annex-B stream with ffmpeg into 8-bit grey frames.
func decodeH264(t *testing.T, annexB []byte) []byte {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	cmd.Stdin = bytes.NewReader(annexB)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decoding what gortsplib received: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffmpeg reported decoding errors:\n%s", stderr.String())
	}
	return out
}

// TestGortsplib: the gortsplib client plays H.264 and MJPEG over UDP and
// TCP; every access unit decodes, frame numbers rise without gaps, and the
// sender reports put the frames at the right wall-clock time.
func TestGortsplib(t *testing.T) {
	for _, codec := range []string{"h264", "mjpeg"} {
		for _, proto := range []gortsplib.Protocol{gortsplib.ProtocolUDP, gortsplib.ProtocolTCP} {
			t.Run(codec+"/"+proto.String(), func(t *testing.T) {
				t.Parallel()
				a := startAgent(t, "CAMAGENT_CODEC="+codec)
				aus, skew := gortsplibRead(t, a.URL, codec, proto, 100)
				// The first frame was captured a moment before it arrived;
				// its NTP time must be now, give or take scheduling.
				if skew < -time.Second || skew > 2*time.Second {
					t.Errorf("first frame's sender-report time is %v away from now", skew)
				}
				var nums []uint32
				if codec == "h264" {
					raw := decodeH264(t, bytes.Join(aus, nil))
					nums = frameNumbers(t, raw, 320, 240)
				} else {
					for i, b := range aus {
						img, err := jpeg.Decode(bytes.NewReader(b))
						if err != nil {
							t.Fatalf("JPEG %d: %v", i, err)
						}
						ycc, ok := img.(*image.YCbCr)
						if !ok || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
							t.Fatalf("JPEG %d is %T %v, want 320x240 YCbCr", i, img, img.Bounds())
						}
						n, err := testsrc.ReadFrameNumber(ycc.Y, ycc.YStride, 320, 240)
						if err != nil {
							t.Fatalf("JPEG %d: %v", i, errors.Unwrap(err))
						}
						nums = append(nums, n)
					}
				}
				if len(nums) != 100 {
					t.Errorf("decoded %d of 100 access units", len(nums))
				}
				checkConsecutive(t, nums, 90)
			})
		}
	}
}
