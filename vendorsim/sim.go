// Package vendorsim emulates the push vendors' HTTP APIs on 127.0.0.1 so
// tests, benchmarks and demos meet real vendor behaviour: TLS, HTTP/2,
// credential checks, the vendors' refusals, magic tokens that fail on
// purpose, and injected faults. Every request is recorded and can be
// inspected in process (Received, Wait) or over the plain-HTTP control API.
//
// Callers start it with Start, trust CAPEM (or the file written from it),
// point clients at Endpoint(vendor), and must Close it. Credentials come
// from a YAML file; GenCreds writes a matching set. VENDORS.md §4 is the
// contract; only APNs is emulated so far.
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
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Vendor names, as in records, endpoints and fault sets.
const (
	VendorAPNs = "apns"
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

	// APNsPort is the APNs TLS port; 0 picks a free one.
	APNsPort int

	// ControlAddr is the plain HTTP control and inspection API; "" means
	// 127.0.0.1 on a free port.
	ControlAddr string

	// CADir keeps the server CA: reused if present, else created and
	// written. "" keeps a fresh CA in memory.
	CADir string

	// MaxStreams is the APNs MAX_CONCURRENT_STREAMS. Default 1000.
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

	apns    *apnsServer
	apnsL   *h2Listener
	control *http.Server
	ctrlLn  net.Listener
	connIDs atomic.Uint64

	// done closes when Close begins; handlers that delay (slow, hang,
	// latency) give up on it.
	done      chan struct{}
	closeOnce sync.Once
	ctrlWG    sync.WaitGroup
}

// Start validates cfg, loads credentials, binds every listener and serves
// until Close. A port already in use is an error naming the listener.
func Start(cfg Config) (*Sim, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	apnsCreds, faults, err := loadCreds(cfg.CredsFile)
	if err != nil {
		return nil, err
	}
	if faults == nil {
		faults = &FaultSet{}
	}
	s := &Sim{
		cfg:    cfg,
		log:    cfg.Logger,
		rec:    newRecorder(cfg.RecordLimit),
		faults: newFaultState(*faults),
		now:    time.Now,
		done:   make(chan struct{}),
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
	apnsAddr := net.JoinHostPort(cfg.ListenHost, strconv.Itoa(cfg.APNsPort))
	apnsLn, err := net.Listen("tcp", apnsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen apns on %s: %w", apnsAddr, err)
	}
	s.ctrlLn, err = net.Listen("tcp", cfg.ControlAddr)
	if err != nil {
		apnsLn.Close()
		return nil, fmt.Errorf("listen control on %s: %w", cfg.ControlAddr, err)
	}

	s.apns = newAPNsServer(s, apnsCreds)
	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{leaf},
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	}
	if apnsCreds.hasCAs {
		tlsConf.ClientAuth = tls.VerifyClientCertIfGiven
		tlsConf.ClientCAs = apnsCreds.clientCAs
	}
	s.apnsL, err = newH2Listener(VendorAPNs, apnsLn, tlsConf, cfg.MaxStreams, s.apns,
		s.rec, s.log, &s.connIDs)
	if err != nil {
		apnsLn.Close()
		s.ctrlLn.Close()
		return nil, fmt.Errorf("serve apns: %w", err)
	}

	s.control = &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 5 * time.Second}
	s.ctrlWG.Add(1)
	go func() {
		defer s.ctrlWG.Done()
		_ = s.control.Serve(s.ctrlLn)
	}()
	s.log.Info("vendorsim started", "apns", s.Endpoint(VendorAPNs), "control", s.ControlURL())
	return s, nil
}

// Close stops every listener: vendor connections get GOAWAY and a short
// grace, delayed answers are abandoned, and all goroutines are waited for.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.apnsL.close(closeGrace)

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
func (s *Sim) Endpoint(vendor string) string {
	switch vendor {
	case VendorAPNs:
		return "https://" + s.apnsL.ln.Addr().String()
	}
	return ""
}

// Endpoints maps every emulated vendor, and "control", to its base URL.
func (s *Sim) Endpoints() map[string]string {
	return map[string]string{
		VendorAPNs: s.Endpoint(VendorAPNs),
		"control":  s.ControlURL(),
	}
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

// Reset clears records, counters and the memory of first attempts.
func (s *Sim) Reset() {
	s.rec.reset()
	s.apns.attempts.reset()
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
