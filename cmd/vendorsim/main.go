// Command vendorsim runs the push-vendor emulator of package vendorsim as a
// process, for demos, benchmarks and tests that need a real process:
//
//	vendorsim -config creds/vendorsim.yaml -addr-file addrs.json -ca-out ca.pem
//	vendorsim -config creds/vendorsim.yaml -port apns=8443 -port fcm=8444
//	vendorsim gen-creds -out creds
//
// Every vendor compiled into package vendorsim gets a listener. It prints
// one "<vendor> <url>" line per vendor and for the control API, writes the
// same as JSON to -addr-file, serves until SIGINT or SIGTERM, then
// closes cleanly. Bad flags or a taken port exit 2 or 1 with one line on
// stderr.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/herald-im/herald/vendorsim"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, stop))
}

// run is main without the process around it; it returns the exit code.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	if len(args) > 0 && args[0] == "gen-creds" {
		return genCreds(args[1:], stdout, stderr)
	}
	return serve(args, stdout, stderr, stop)
}

// options are the flags of the serving command.
type options struct {
	config     string
	addrFile   string
	caOut      string
	caDir      string
	control    string
	listenHost string
	apnsPort   int
	ports      portFlag
	maxStreams uint
	verbose    bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("vendorsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.config, "config", "", "credentials YAML (from `vendorsim gen-creds`); required")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the vendor and control URLs here as JSON")
	fs.StringVar(&o.caOut, "ca-out", "", "write the server CA certificate (PEM) here")
	fs.StringVar(&o.caDir, "ca-dir", "", "reuse the CA kept in this directory, or create it there")
	fs.StringVar(&o.control, "control", "127.0.0.1:0", "control API address (plain HTTP)")
	fs.StringVar(&o.listenHost, "listen-host", "127.0.0.1", "address the vendor listeners bind")
	fs.IntVar(&o.apnsPort, "apns-port", 0, "APNs TLS port; 0 picks a free one (as -port apns=N)")
	o.ports = portFlag{}
	fs.Var(o.ports, "port",
		"vendor=N: the vendor's TLS port, repeatable; 0 or absent picks a free one")
	fs.UintVar(&o.maxStreams, "max-streams", 1000,
		"MAX_CONCURRENT_STREAMS of vendors without their own (APNs)")
	fs.BoolVar(&o.verbose, "v", false, "log every request (debug)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return o, err
	}

	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if o.config == "" {
		errs = append(errs, errors.New("-config: required"))
	}
	if o.apnsPort < 0 || o.apnsPort > 65535 {
		errs = append(errs, fmt.Errorf("-apns-port: %d out of range", o.apnsPort))
	}
	known := map[string]bool{}
	for _, v := range vendorsim.Vendors() {
		known[v] = true
	}
	for v := range o.ports {
		if !known[v] {
			errs = append(errs, fmt.Errorf("-port: unknown vendor %q (have %s)", v,
				strings.Join(vendorsim.Vendors(), ", ")))
		}
	}
	if o.maxStreams == 0 || o.maxStreams > 1<<31-1 {
		errs = append(errs, fmt.Errorf("-max-streams: %d out of range", o.maxStreams))
	}
	return o, errors.Join(errs...)
}

func serve(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	sim, err := vendorsim.Start(vendorsim.Config{
		CredsFile:   o.config,
		ListenHost:  o.listenHost,
		APNsPort:    o.apnsPort,
		Ports:       o.ports,
		ControlAddr: o.control,
		CADir:       o.caDir,
		MaxStreams:  uint32(o.maxStreams),
		Logger:      log,
	})
	if err != nil {
		fail(stderr, err)
		return 1
	}
	defer sim.Close()

	// The CA goes out before the address file: whoever polls for the
	// address file may trust the CA at once.
	if o.caOut != "" {
		if err := writeAtomic(o.caOut, sim.CAPEM()); err != nil {
			fail(stderr, fmt.Errorf("write -ca-out: %w", err))
			return 1
		}
	}
	eps := sim.Endpoints()
	if o.addrFile != "" {
		data, _ := json.Marshal(eps)
		if err := writeAtomic(o.addrFile, append(data, '\n')); err != nil {
			fail(stderr, fmt.Errorf("write -addr-file: %w", err))
			return 1
		}
	}
	for _, name := range vendorsim.Vendors() {
		fmt.Fprintf(stdout, "%s %s\n", name, eps[name])
	}
	fmt.Fprintf(stdout, "control %s\n", eps["control"])

	sig := <-stop
	log.Info("stopping", "signal", sig.String())
	return 0
}

func genCreds(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vendorsim gen-creds", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory to write the credentials into; required")
	if err := fs.Parse(args); err != nil {
		fail(stderr, err)
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fail(stderr, errors.New("gen-creds: -out DIR is required and takes no arguments"))
		return 2
	}
	creds, err := vendorsim.GenCreds(*out)
	if err != nil {
		fail(stderr, err)
		return 1
	}

	// The notifier credentials of every provider, ready to paste into
	// POST /push/notifiers (they contain secrets: owner-only file).
	notifiers, err := json.MarshalIndent(creds.Vendors, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "notifiers.json"), notifiers, 0o600)
	}
	if err != nil {
		fail(stderr, fmt.Errorf("gen-creds: write notifiers.json: %w", err))
		return 1
	}

	// Paths and ids only: the p12 password stays in its file.
	a := creds.APNs
	fmt.Fprintf(stdout, "config %s\napns team %s key %s bundle %s\np8 %s\np12 %s (password in %s)\n",
		creds.ConfigFile, a.TeamID, a.KeyID, a.BundleID, a.P8File, a.P12File, a.PasswordFile)
	fmt.Fprintf(stdout, "notifier credentials per provider: %s\n",
		filepath.Join(*out, "notifiers.json"))
	return 0
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so readers never see half a file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vendorsim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// fail prints err as one line.
func fail(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "vendorsim: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
}

// portFlag collects repeated -port vendor=N flags.
type portFlag map[string]int

func (p portFlag) String() string {
	parts := make([]string, 0, len(p))
	for v, n := range p {
		parts = append(parts, fmt.Sprintf("%s=%d", v, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (p portFlag) Set(s string) error {
	vendor, num, ok := strings.Cut(s, "=")
	if !ok || vendor == "" {
		return fmt.Errorf("want vendor=N, got %q", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s: port %q not in 0..65535", vendor, num)
	}
	if _, dup := p[vendor]; dup {
		return fmt.Errorf("%s: port given twice", vendor)
	}
	p[vendor] = n
	return nil
}
