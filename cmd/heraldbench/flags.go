package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// runOptions are the flags of heraldbench run.
type runOptions struct {
	herald   []string // REST bases
	seeds    []string // gossip seeds for package client
	app      string   // appkey org#app
	users    int
	duration time.Duration
	rate     float64 // mutations per second, all users together
	pushRate float64 // pushes per second; 0 = as fast as the workers go
	workers  int     // mutation workers
	pushers  int     // push workers
	attempt  time.Duration
	grace    time.Duration // how long unanswered work may finish after duration
	journal  string
	report   string // optional JSON summary file
	token    string // app token when not --setup

	setup     bool
	bootstrap string // bootstrap token (or HERALD_BOOTSTRAP_TOKEN)
	simAddrs  string // vendorsim -addr-file output
	notifiers string // vendorsim gen-creds notifiers.json
}

func parseRun(args []string, stderr io.Writer) (runOptions, error) {
	var o runOptions
	var herald, seeds string
	fs := flag.NewFlagSet("heraldbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&herald, "herald", "", "comma-separated REST base URLs of the nodes; required")
	fs.StringVar(&seeds, "seeds", "", "comma-separated gossip addresses for the client; required")
	fs.StringVar(&o.app, "app", "", "appkey org#app; required")
	fs.IntVar(&o.users, "users", 1000, "number of users u0..u<N-1>")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to generate load")
	fs.Float64Var(&o.rate, "rate", 100, "mutations per second (0: none)")
	fs.Float64Var(&o.pushRate, "push-rate", 50, "pushes per second (0: unlimited)")
	fs.IntVar(&o.workers, "workers", 16, "concurrent mutation workers")
	fs.IntVar(&o.pushers, "pushers", 16, "concurrent push workers (0: no pushes)")
	fs.DurationVar(&o.attempt, "attempt", 8*time.Second, "timeout of one request attempt")
	fs.DurationVar(&o.grace, "grace", 60*time.Second,
		"how long unanswered requests keep being retried after --duration")
	fs.StringVar(&o.journal, "journal", "", "journal file to write; required")
	fs.StringVar(&o.report, "report", "", "write the summary as JSON here")
	fs.StringVar(&o.token, "token", "", "app token (or HERALD_APP_TOKEN); not with --setup")
	fs.BoolVar(&o.setup, "setup", false,
		"create the app, an APNs notifier on vendorsim and the users' stable bindings")
	fs.StringVar(&o.bootstrap, "bootstrap-token", "",
		"bootstrap token for --setup (or HERALD_BOOTSTRAP_TOKEN)")
	fs.StringVar(&o.simAddrs, "sim-addrs", "", "vendorsim's -addr-file, for --setup")
	fs.StringVar(&o.notifiers, "notifiers", "", "vendorsim gen-creds notifiers.json, for --setup")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.herald, o.seeds = splitList(herald), splitList(seeds)
	o.bootstrap = orEnv(o.bootstrap, "HERALD_BOOTSTRAP_TOKEN")
	o.token = orEnv(o.token, "HERALD_APP_TOKEN")
	return o, o.validate(fs.NArg())
}

func (o runOptions) validate(extra int) error {
	var errs []error
	if extra > 0 {
		errs = append(errs, errors.New("unexpected arguments"))
	}
	errs = append(errs, validBases(o.herald)...)
	if len(o.seeds) == 0 && o.pushers > 0 {
		errs = append(errs, errors.New("--seeds: required when pushing"))
	}
	if org, app, ok := strings.Cut(o.app, "#"); !ok || org == "" || app == "" ||
		strings.Contains(app, "#") {
		errs = append(errs, fmt.Errorf("--app: want org#app, got %q", o.app))
	}
	if o.users < 1 || o.users > 10_000_000 {
		errs = append(errs, fmt.Errorf("--users: %d out of 1..10000000", o.users))
	}
	if o.duration <= 0 || o.attempt <= 0 || o.grace < 0 {
		errs = append(errs, errors.New("--duration, --attempt: must be positive, --grace ≥ 0"))
	}
	if o.rate < 0 || o.pushRate < 0 || o.workers < 1 || o.pushers < 0 {
		errs = append(errs, errors.New("--rate, --push-rate, --workers, --pushers: out of range"))
	}
	if o.journal == "" {
		errs = append(errs, errors.New("--journal: required"))
	}
	if o.setup {
		if o.bootstrap == "" || o.simAddrs == "" || o.notifiers == "" {
			errs = append(errs, errors.New(
				"--setup: needs --bootstrap-token, --sim-addrs and --notifiers"))
		}
	} else if o.token == "" {
		errs = append(errs, errors.New("--token: required without --setup"))
	}
	return errors.Join(errs...)
}

// verifyOptions are the flags of heraldbench verify.
type verifyOptions struct {
	herald  []string
	sim     string // vendorsim control base URL
	journal string
	report  string
	timeout time.Duration
}

func parseVerify(args []string, stderr io.Writer) (verifyOptions, error) {
	var o verifyOptions
	var herald string
	fs := flag.NewFlagSet("heraldbench verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&herald, "herald", "", "comma-separated REST base URLs of the nodes; required")
	fs.StringVar(&o.sim, "sim", "", "vendorsim control API base URL (skip push checks if empty)")
	fs.StringVar(&o.journal, "journal", "", "journal written by heraldbench run; required")
	fs.StringVar(&o.report, "report", "", "write the summary as JSON here")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound on the whole verification")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.herald = splitList(herald)
	errs := validBases(o.herald)
	if fs.NArg() > 0 {
		errs = append(errs, errors.New("unexpected arguments"))
	}
	if o.journal == "" {
		errs = append(errs, errors.New("--journal: required"))
	}
	if o.sim != "" {
		if u, err := url.Parse(o.sim); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("--sim: bad URL %q", o.sim))
		}
	}
	if o.timeout <= 0 {
		errs = append(errs, errors.New("--timeout: must be positive"))
	}
	return o, errors.Join(errs...)
}

func validBases(bases []string) []error {
	if len(bases) == 0 {
		return []error{errors.New("--herald: at least one URL required")}
	}
	var errs []error
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--herald: bad URL %q", b))
		}
	}
	return errs
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, strings.TrimRight(part, "/"))
		}
	}
	return out
}

func orEnv(v, env string) string {
	if v != "" {
		return v
	}
	return strings.TrimSpace(os.Getenv(env))
}
