package adapttest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// link is a veth pair between two network namespaces the test creates:
// the server's end is 10.79.N.1, the client's 10.79.N.2.
type link struct {
	srvNS, cliNS   string
	srvDev, cliDev string
	srvIP, cliIP   string
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newLink creates the namespaces and the veth pair, and deletes them when
// the test ends.
func newLink(t *testing.T, n int) *link {
	t.Helper()
	id := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	l := &link{
		srvNS: "ca-srv-" + id, cliNS: "ca-cli-" + id,
		srvDev: "cas" + id, cliDev: "cac" + id,
		srvIP: fmt.Sprintf("10.79.%d.1", n), cliIP: fmt.Sprintf("10.79.%d.2", n),
	}
	sh(t, "ip", "netns", "add", l.srvNS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.srvNS).Run() })
	sh(t, "ip", "netns", "add", l.cliNS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.cliNS).Run() })
	sh(t, "ip", "link", "add", l.srvDev, "type", "veth", "peer", "name", l.cliDev)
	sh(t, "ip", "link", "set", l.srvDev, "netns", l.srvNS)
	sh(t, "ip", "link", "set", l.cliDev, "netns", l.cliNS)
	for _, e := range []struct{ ns, dev, ip string }{{l.srvNS, l.srvDev, l.srvIP}, {l.cliNS, l.cliDev, l.cliIP}} {
		sh(t, "ip", "-n", e.ns, "addr", "add", e.ip+"/24", "dev", e.dev)
		sh(t, "ip", "-n", e.ns, "link", "set", e.dev, "up")
		sh(t, "ip", "-n", e.ns, "link", "set", "lo", "up")
	}
	return l
}

// shape puts a token-bucket bottleneck on the server's egress.
func (l *link) shape(t *testing.T, rate string) {
	t.Helper()
	sh(t, "ip", "netns", "exec", l.srvNS, "tc", "qdisc", "replace", "dev", l.srvDev, "root",
		"tbf", "rate", rate, "burst", "32kbit", "latency", "400ms")
}

func (l *link) unshape(t *testing.T) {
	t.Helper()
	sh(t, "ip", "netns", "exec", l.srvNS, "tc", "qdisc", "del", "dev", l.srvDev, "root")
}

// inSrv and inCli prefix a command to run it in a namespace.
func (l *link) inSrv(args ...string) []string {
	return append([]string{"ip", "netns", "exec", l.srvNS}, args...)
}

func (l *link) inCli(args ...string) []string {
	return append([]string{"ip", "netns", "exec", l.cliNS}, args...)
}
