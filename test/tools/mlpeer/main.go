// go-peer: a HashiCorp memberlist node driven from the command line, for l2lb's interop tests and
// benchmark. It stands in for a MetalLB speaker's gossip: same library, same key derivation, and
// memberlist's DefaultLANConfig unless a flag says otherwise. It reports what memberlist tells it as
// one JSON object per line on stdout, in the shape l2lb-memberlist's `agent` prints, so the tests
// drive both alike (see README.md).
//
// Build (Debian bookworm packages only, no network): see build.sh.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// events serialises stdout: memberlist calls the delegates from its own goroutines.
type events struct {
	mu  sync.Mutex
	out io.Writer
}

func (e *events) emit(ev string, fields map[string]interface{}) {
	line := map[string]interface{}{"ev": ev, "ts": time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range fields {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"ev":"fatal","err":%q}`, err.Error()))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out.Write(append(b, '\n'))
}

func nodeJSON(n *memberlist.Node) map[string]interface{} {
	return map[string]interface{}{
		"name": n.Name,
		"addr": n.Addr.String(),
		"port": n.Port,
		"meta": string(n.Meta),
		"vsn":  []uint8{n.PMin, n.PMax, n.PCur, n.DMin, n.DMax, n.DCur},
	}
}

// membershipEvents reports joins, leaves and updates. memberlist calls NotifyLeave both for a
// graceful leave and for a death; the node's state says which.
type membershipEvents struct{ out *events }

func (d membershipEvents) NotifyJoin(n *memberlist.Node) {
	d.out.emit("join", map[string]interface{}{"node": nodeJSON(n)})
}

func (d membershipEvents) NotifyLeave(n *memberlist.Node) {
	reason := "dead"
	if n.State == memberlist.StateLeft {
		reason = "left"
	}
	d.out.emit("leave", map[string]interface{}{"node": nodeJSON(n), "reason": reason})
}

func (d membershipEvents) NotifyUpdate(n *memberlist.Node) {
	d.out.emit("update", map[string]interface{}{"node": nodeJSON(n)})
}

// metaOnly is a memberlist.Delegate that only serves node metadata (what MetalLB's speaker
// gossips is not needed by the tests: they look at membership).
type metaOnly struct{ meta []byte }

func (d metaOnly) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return d.meta[:limit]
	}
	return d.meta
}
func (metaOnly) NotifyMsg([]byte)                           {}
func (metaOnly) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (metaOnly) LocalState(join bool) []byte                { return nil }
func (metaOnly) MergeRemoteState(buf []byte, join bool)     {}

// deriveKey turns --secret into an AES key the way the named deployment does.
//   - metallb: MetalLB >= 0.14 calls Sum(secret) on a fresh SHA-256 hasher, which appends the
//     digest of the empty input to the secret instead of hashing it; the first 32 bytes are the key.
//   - metallb16: the same, first 16 bytes (MetalLB before 0.14).
//   - sha256: the real SHA-256 of the secret.
//   - hex: the secret is the key, hex-encoded (16, 24 or 32 bytes).
func deriveKey(mode, secret string) ([]byte, error) {
	emptyDigest := sha256.Sum256(nil)
	appended := append([]byte(secret), emptyDigest[:]...)
	switch mode {
	case "metallb":
		return appended[:32], nil
	case "metallb16":
		return appended[:16], nil
	case "sha256":
		sum := sha256.Sum256([]byte(secret))
		return sum[:], nil
	case "hex":
		key, err := hex.DecodeString(secret)
		if err != nil {
			return nil, fmt.Errorf("--secret is not hex: %v", err)
		}
		if l := len(key); l != 16 && l != 24 && l != 32 {
			return nil, fmt.Errorf("--secret decodes to %d bytes; AES needs 16, 24 or 32", l)
		}
		return key, nil
	}
	return nil, fmt.Errorf("--key-mode %q: want metallb, metallb16, sha256 or hex", mode)
}

type options struct {
	name, bind, advertise, join, secret, keyMode, meta, label string
	port, protocolVersion, gossipNodes                        int
	membersInterval, leaveTimeout, pushPull, probe            time.Duration
	compression, printKey, quiet                              bool
}

func parseFlags(args []string) (options, error) {
	var o options
	host, _ := os.Hostname()
	fs := flag.NewFlagSet("go-peer", flag.ContinueOnError)
	fs.StringVar(&o.name, "name", host, "node name")
	fs.StringVar(&o.bind, "bind", "127.0.0.1", "IP to bind UDP and TCP on, also advertised")
	fs.IntVar(&o.port, "port", 7946, "port to bind and advertise")
	fs.StringVar(&o.advertise, "advertise", "", "advertised IP, when not the bind IP")
	fs.StringVar(&o.join, "join", "", "comma-separated host:port list to join (10 attempts, 1 s apart)")
	fs.StringVar(&o.secret, "secret", "", "shared secret; empty: no encryption")
	fs.StringVar(&o.keyMode, "key-mode", "metallb", "how --secret becomes the key: metallb, metallb16, sha256, hex")
	fs.StringVar(&o.meta, "meta", "", "node metadata")
	fs.StringVar(&o.label, "label", "", "packet label (needs memberlist >= 0.3.0: refused by this build)")
	fs.DurationVar(&o.membersInterval, "members-interval", 5*time.Second, "period of the members line; 0: never")
	fs.DurationVar(&o.leaveTimeout, "leave-timeout", 2*time.Second, "Leave() timeout on SIGTERM/SIGINT")
	fs.BoolVar(&o.compression, "compression", true, "EnableCompression")
	fs.IntVar(&o.protocolVersion, "protocol-version", 2, "memberlist protocol version (1: encryption v0 with PKCS7 padding)")
	fs.IntVar(&o.gossipNodes, "gossip-nodes", 0, "GossipNodes; 0: library default")
	fs.DurationVar(&o.pushPull, "push-pull-interval", 0, "PushPullInterval; 0: library default")
	fs.DurationVar(&o.probe, "probe-interval", 0, "ProbeInterval; 0: library default")
	fs.BoolVar(&o.printKey, "print-key", false, "put the derived key (hex) in the start line")
	fs.BoolVar(&o.quiet, "quiet", false, "drop memberlist's own log lines (otherwise on stderr)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.label != "" {
		return o, errors.New("--label needs memberlist >= 0.3.0; this peer is built with Debian's 0.2.2")
	}
	if net.ParseIP(o.bind) == nil {
		return o, fmt.Errorf("--bind %q is not an IP address", o.bind)
	}
	return o, nil
}

func run(o options, out *events) int {
	cfg := memberlist.DefaultLANConfig()
	cfg.Name = o.name
	cfg.BindAddr = o.bind
	cfg.BindPort = o.port
	cfg.AdvertiseAddr = o.advertise
	cfg.AdvertisePort = o.port
	cfg.ProtocolVersion = uint8(o.protocolVersion)
	cfg.EnableCompression = o.compression
	if o.gossipNodes > 0 {
		cfg.GossipNodes = o.gossipNodes
	}
	if o.pushPull > 0 {
		cfg.PushPullInterval = o.pushPull
	}
	if o.probe > 0 {
		cfg.ProbeInterval = o.probe
	}
	if o.quiet {
		cfg.LogOutput = io.Discard
	} else {
		cfg.Logger = log.New(os.Stderr, "["+o.name+"] ", log.LstdFlags|log.Lmicroseconds)
	}
	cfg.Events = membershipEvents{out}
	if o.meta != "" {
		cfg.Delegate = metaOnly{[]byte(o.meta)}
	}
	var key []byte
	if o.secret != "" {
		k, err := deriveKey(o.keyMode, o.secret)
		if err != nil {
			out.emit("fatal", map[string]interface{}{"err": err.Error()})
			return 2
		}
		key = k
		cfg.SecretKey = key
	}

	ml, err := memberlist.Create(cfg)
	if err != nil {
		out.emit("fatal", map[string]interface{}{"err": err.Error()})
		return 1
	}
	self := ml.LocalNode()
	addrLen := len(self.Addr)
	if v4 := self.Addr.To4(); v4 != nil {
		addrLen = len(v4) // memberlist sends IPv4 addresses as 4 bytes
	}
	start := map[string]interface{}{
		"name": self.Name, "addr": self.Addr.String(), "addr_len": addrLen, "port": self.Port,
		"encrypted": key != nil, "key_bits": len(key) * 8,
		"vsn": []uint8{self.PMin, self.PMax, self.PCur, self.DMin, self.DMax, self.DCur},
		"lib": "hashicorp/memberlist", "label": o.label,
	}
	if o.printKey && key != nil {
		start["key_hex"] = hex.EncodeToString(key)
	}
	out.emit("start", start)

	stop := make(chan struct{})
	if o.join != "" {
		go joinLoop(ml, strings.Split(o.join, ","), out, stop)
	}
	if o.membersInterval > 0 {
		go membersLoop(ml, o.membersInterval, out, stop)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	close(stop)
	status := 0
	if err := ml.Leave(o.leaveTimeout); err != nil {
		out.emit("left", map[string]interface{}{"err": err.Error()})
		status = 1
	} else {
		out.emit("left", nil)
	}
	if err := ml.Shutdown(); err != nil && status == 0 {
		status = 1
	}
	out.emit("exit", map[string]interface{}{"status": status})
	return status
}

// joinLoop retries until one peer answers, reporting each attempt, as a speaker starting before
// its peers would.
func joinLoop(ml *memberlist.Memberlist, peers []string, out *events, stop <-chan struct{}) {
	for attempt := 1; attempt <= 10; attempt++ {
		n, err := ml.Join(peers)
		fields := map[string]interface{}{"contacted": n, "attempt": attempt}
		if err != nil {
			fields["err"] = err.Error()
		}
		out.emit("joined", fields)
		if n > 0 {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
}

func membersLoop(ml *memberlist.Memberlist, every time.Duration, out *events, stop <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		nodes := ml.Members()
		members := make([]map[string]interface{}, 0, len(nodes))
		for _, n := range nodes {
			members = append(members, nodeJSON(n))
		}
		out.emit("members", map[string]interface{}{"n": len(nodes), "members": members, "health": ml.GetHealthScore()})
	}
}

func main() {
	out := &events{out: os.Stdout}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		out.emit("fatal", map[string]interface{}{"err": err.Error()})
		os.Exit(2)
	}
	os.Exit(run(o, out))
}
