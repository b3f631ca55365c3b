package vmtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Netns is a network namespace holding one TAP device for a VM. Traffic to
// the guest never leaves it: the namespace has no other interface and no
// route out.
type Netns struct {
	Name string
	Tap  string
}

var nsSeq atomic.Int32

// NewNetns makes a namespace with a TAP device addressed hostCIDR, up.
func NewNetns(ctx context.Context, hostCIDR string) (*Netns, error) {
	n := &Netns{Name: fmt.Sprintf("camvm-%d-%d", os.Getpid(), nsSeq.Add(1)), Tap: "tap0"}
	if _, err := runOut(ctx, "", nil, "ip", "netns", "add", n.Name); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"tuntap", "add", "dev", n.Tap, "mode", "tap"},
		{"addr", "add", hostCIDR, "dev", n.Tap},
		{"link", "set", n.Tap, "up"},
	} {
		if _, err := runOut(ctx, "", nil, "ip", append([]string{"-n", n.Name}, args...)...); err != nil {
			n.Close()
			return nil, fmt.Errorf("vmtest: %w", err)
		}
	}
	return n, nil
}

// Close deletes the namespace and with it the TAP device.
func (n *Netns) Close() error {
	_, err := runOut(context.Background(), "", nil, "ip", "netns", "del", n.Name)
	return err
}

// Do runs f on an OS thread switched into the namespace. Sockets f opens
// stay in the namespace after f returns; the thread is discarded.
func (n *Netns) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the goroutine's thread ends with it, so no other
		// goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("vmtest: opening namespace %s: %w", n.Name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("vmtest: entering namespace %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// DialContext dials from inside the namespace (for gortsplib.Client).
func (n *Netns) DialContext(ctx context.Context, network, addr string) (c net.Conn, err error) {
	err = n.Do(func() error {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// ListenPacket listens inside the namespace (for gortsplib.Client).
func (n *Netns) ListenPacket(network, addr string) (c net.PacketConn, err error) {
	err = n.Do(func() error {
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}
