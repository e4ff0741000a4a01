// Package vendorsim emulates the push vendors' HTTP APIs on 127.0.0.1 so
// tests, benchmarks and demos meet real vendor behaviour: TLS, HTTP/2,
// credential checks, the vendors' refusals, magic tokens that fail on
// purpose, and injected faults. Every request is recorded and can be
// inspected in process (Received, Wait) or over the plain-HTTP control API.
//
// Callers start it with Start, trust CAPEM (or the file written from it),
// point clients at Endpoint(vendor), and must Close it. Credentials come
// from a YAML file; GenCreds writes a matching set. VENDORS.md §4 is the
// contract.
//
// Each vendor is a set of files that registers a VendorSpec from init
// (VendorSpec says how); Start gives every registered vendor its own TLS
// listener.
package vendorsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// closeGrace is how long Close lets open connections finish after GOAWAY.
const closeGrace = 2 * time.Second

// Config says where the emulator listens and what it accepts.
type Config struct {
	// CredsFile is the YAML written by GenCreds (APNs teams: team id, key
	// id -> public key PEM, bundle ids; client-cert CA PEM for p12). An
	// optional `faults:` section sets the initial faults. Required.
	CredsFile string

	// ListenHost is the address every listener binds. Default "127.0.0.1".
	ListenHost string

	// Ports maps a vendor name to its TLS port; a vendor not listed, or
	// 0, gets a free one.
	Ports map[string]int

	// APNsPort is the APNs TLS port, kept for older callers: it applies
	// when Ports has no "apns" entry.
	APNsPort int

	// ControlAddr is the plain HTTP control and inspection API; "" means
	// 127.0.0.1 on a free port.
	ControlAddr string

	// CADir keeps the server CA: reused if present, else created and
	// written. "" keeps a fresh CA in memory.
	CADir string

	// MaxStreams is the MAX_CONCURRENT_STREAMS of vendors whose spec sets
	// none (APNs). Default 1000.
	MaxStreams uint32

	// RecordLimit is how many records the ring keeps. Default 100000.
	RecordLimit int

	// Logger receives lifecycle and debug logs; nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.ListenHost == "" {
		c.ListenHost = "127.0.0.1"
	}
	if c.ControlAddr == "" {
		c.ControlAddr = net.JoinHostPort(c.ListenHost, "0")
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 1000
	}
	if c.RecordLimit == 0 {
		c.RecordLimit = 100000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.CredsFile == "" {
		errs = append(errs, errors.New("config: CredsFile is required"))
	}
	if c.APNsPort < 0 || c.APNsPort > 65535 {
		errs = append(errs, fmt.Errorf("config: APNsPort %d out of range", c.APNsPort))
	}
	for _, v := range sortedKeys(c.Ports) {
		switch p := c.Ports[v]; {
		case !knownVendor(v):
			errs = append(errs, fmt.Errorf("config: Ports: unknown vendor %q", v))
		case p < 0 || p > 65535:
			errs = append(errs, fmt.Errorf("config: Ports[%s] %d out of range", v, p))
		}
	}
	if c.RecordLimit < 0 {
		errs = append(errs, fmt.Errorf("config: RecordLimit %d is negative", c.RecordLimit))
	}
	return errors.Join(errs...)
}

// Sim is a running emulator. Its methods are safe for concurrent use.
type Sim struct {
	cfg    Config
	log    *slog.Logger
	ca     *authority
	rec    *recorder
	faults *faultState
	now    func() time.Time

	// vendors are the running emulators by name, listed in name order
	// by order.
	vendors map[string]*runningVendor
	order   []string
	control *http.Server
	ctrlLn  net.Listener
	connIDs atomic.Uint64

	// done closes when Close begins; handlers that delay (slow, hang,
	// latency) give up on it.
	done      chan struct{}
	closeOnce sync.Once
	ctrlWG    sync.WaitGroup
}

// runningVendor is one registered vendor at work.
type runningVendor struct {
	spec    VendorSpec
	env     *VendorEnv
	url     string // base URL, fixed once bound
	handler http.Handler
	ln      *vendorListener // nil until serving
}

// Start validates cfg, loads credentials, binds every listener and serves
// until Close. A port already in use is an error naming the listener.
func Start(cfg Config) (*Sim, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	creds, faults, err := loadCreds(cfg.CredsFile)
	if err != nil {
		return nil, err
	}
	if faults == nil {
		faults = &FaultSet{}
	}
	s := &Sim{
		cfg:     cfg,
		log:     cfg.Logger,
		rec:     newRecorder(cfg.RecordLimit),
		faults:  newFaultState(*faults),
		now:     time.Now,
		done:    make(chan struct{}),
		vendors: map[string]*runningVendor{},
	}
	if s.ca, err = loadOrCreateAuthority(cfg.CADir, s.now()); err != nil {
		return nil, err
	}
	leaf, err := s.ca.serverCertificate(s.now())
	if err != nil {
		return nil, err
	}

	// Bind every port before serving any, so a taken port fails Start
	// without leaving half a simulator running.
	lns, err := s.bindAll()
	if err != nil {
		return nil, err
	}
	if err := s.serveVendors(lns, creds, leaf); err != nil {
		s.closeVendors()
		s.ctrlLn.Close()
		return nil, err
	}

	s.control = &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 5 * time.Second}
	s.ctrlWG.Add(1)
	go func() {
		defer s.ctrlWG.Done()
		_ = s.control.Serve(s.ctrlLn)
	}()
	s.log.Info("vendorsim started", "endpoints", s.Endpoints())
	return s, nil
}

// port is the configured port of vendor; 0 picks a free one.
func (c *Config) port(vendor string) int {
	if p, ok := c.Ports[vendor]; ok {
		return p
	}
	if vendor == VendorAPNs {
		return c.APNsPort
	}
	return 0
}

// bindAll opens every vendor's TCP listener and the control listener; on
// an error it closes what it opened.
func (s *Sim) bindAll() (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, spec := range registered() {
		addr := net.JoinHostPort(s.cfg.ListenHost, strconv.Itoa(s.cfg.port(spec.Name)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen %s on %s: %w", spec.Name, addr, err)
		}
		lns[spec.Name] = ln
	}
	ctrlLn, err := net.Listen("tcp", s.cfg.ControlAddr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("listen control on %s: %w", s.cfg.ControlAddr, err)
	}
	s.ctrlLn = ctrlLn
	return lns, nil
}

// serveVendors builds every vendor's handler, then starts the listeners,
// so the vendor table is complete before any request can arrive. On an
// error it closes every listener not yet serving; the caller closes the
// serving ones.
func (s *Sim) serveVendors(lns map[string]net.Listener, creds map[string]any,
	leaf tls.Certificate) error {

	closeRest := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	specs := registered()
	for _, spec := range specs {
		rv := &runningVendor{spec: spec, env: newVendorEnv(s, spec.Name),
			url: "https://" + lns[spec.Name].Addr().String()}
		s.vendors[spec.Name] = rv
	}
	for _, spec := range specs {
		rv := s.vendors[spec.Name]
		h, err := spec.NewHandler(rv.env, creds[spec.Name])
		if err != nil {
			closeRest()
			return fmt.Errorf("serve %s: %w", spec.Name, err)
		}
		rv.handler = h
	}

	for _, spec := range specs {
		rv := s.vendors[spec.Name]
		tlsConf := &tls.Config{Certificates: []tls.Certificate{leaf},
			MinVersion: tls.VersionTLS12}
		if spec.TLS != nil {
			spec.TLS(creds[spec.Name], tlsConf)
		}
		streams := spec.MaxStreams
		if streams == 0 {
			streams = s.cfg.MaxStreams
		}
		ln := lns[spec.Name]
		delete(lns, spec.Name)
		vl, err := newVendorListener(spec.Name, ln, tlsConf, streams, spec.HTTP1,
			rv.handler, s.rec, s.log, &s.connIDs)
		if err != nil {
			ln.Close()
			closeRest()
			return fmt.Errorf("serve %s: %w", spec.Name, err)
		}
		rv.ln = vl
		s.order = append(s.order, spec.Name)
	}
	return nil
}

// closeVendors stops every serving vendor listener.
func (s *Sim) closeVendors() {
	for _, name := range s.order {
		s.vendors[name].ln.close(closeGrace)
	}
}

// Close stops every listener: vendor connections get GOAWAY and a short
// grace, delayed answers are abandoned, and all goroutines are waited for.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeVendors()

		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		if err := s.control.Shutdown(ctx); err != nil {
			s.control.Close()
		}
		s.ctrlWG.Wait()
		s.log.Info("vendorsim stopped")
	})
	return nil
}

// Endpoint returns the base URL of vendor, "" for a vendor not emulated.
// It is also the vendor's auth_endpoint: token paths share the listener.
func (s *Sim) Endpoint(vendor string) string {
	rv, ok := s.vendors[vendor]
	if !ok {
		return ""
	}
	return rv.url
}

// Endpoints maps every emulated vendor, and "control", to its base URL.
func (s *Sim) Endpoints() map[string]string {
	out := map[string]string{"control": s.ControlURL()}
	for _, name := range s.order {
		out[name] = s.Endpoint(name)
	}
	return out
}

// ControlURL is the base URL of the control API.
func (s *Sim) ControlURL() string {
	return "http://" + s.ctrlLn.Addr().String()
}

// CAPEM is the PEM certificate of the CA that signed every vendor leaf.
func (s *Sim) CAPEM() []byte {
	return append([]byte(nil), s.ca.certPEM...)
}

// Received returns the stored records f selects, in arrival order.
func (s *Sim) Received(f Filter) []Record {
	recs, _ := s.rec.matching(f)
	return recs
}

// Wait returns once count records match f, or what matched so far and an
// error when ctx ends first.
func (s *Sim) Wait(ctx context.Context, count int, f Filter) ([]Record, error) {
	return s.rec.wait(ctx, count, f)
}

// Counters returns per-vendor counters.
func (s *Sim) Counters() map[string]VendorCounters {
	return s.rec.snapshot()
}

// resetter is a vendor handler with state of its own to clear on Reset
// (quotas, feedback queues).
type resetter interface{ Reset() }

// Reset clears records, counters, the memory of first attempts, issued
// access tokens and whatever state a vendor handler clears in its Reset.
func (s *Sim) Reset() {
	s.rec.reset()
	for _, name := range s.order {
		rv := s.vendors[name]
		rv.env.reset()
		if r, ok := rv.handler.(resetter); ok {
			r.Reset()
		}
	}
}

// Faults returns the current fault set; a zero global max_streams shows
// the configured value.
func (s *Sim) Faults() FaultSet {
	fs := s.faults.get()
	if fs.Global.MaxStreams == 0 {
		fs.Global.MaxStreams = s.cfg.MaxStreams
	}
	return fs
}

// SetFaults replaces the fault set after validating it.
func (s *Sim) SetFaults(fs FaultSet) error {
	if err := fs.Validate(); err != nil {
		return err
	}
	s.faults.replace(fs)
	return nil
}

// sleep waits d, or until ctx ends or the simulator closes; it reports
// whether the full delay passed.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
