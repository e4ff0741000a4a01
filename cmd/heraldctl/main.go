// Command heraldctl is the operator's view of a Herald cluster, over the
// REST endpoints GET /admin/cluster and DELETE /admin/cluster/nodes/{name}
// of any one node:
//
//	heraldctl [--addr URL] [--token T] members | ring | health | remove NAME
//
// The token is the deployment's bootstrap token; without --token it is
// read from HERALD_BOOTSTRAP_TOKEN. Exit codes: 0 success, 1 the request
// failed (or, for health, a ring node is not ready), 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage: heraldctl [flags] <command>

commands:
  members       every node gossip knows, with state, ring membership and health
  ring          the ring: epoch, nodes, migration progress, removed names
  health        each node's readiness; exits 1 if a ring node is not ready
  remove NAME   take a dead node out of the ring for good

flags:
`

// options are the parsed command line.
type options struct {
	addr    *url.URL
	token   string
	timeout time.Duration
	command string
	name    string
}

// run is main without the process exit, returning the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "heraldctl:", err)
		return exitUsage
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	defer cancel()
	c := &client{base: opts.addr, token: opts.token, http: &http.Client{}}

	switch opts.command {
	case "remove":
		err = c.remove(ctx, opts.name)
		if err == nil {
			fmt.Fprintf(stdout, "removed %s from the ring\n", opts.name)
		}
	default:
		err = c.show(ctx, opts.command, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "heraldctl:", oneLine(err))
		return exitFail
	}
	return exitOK
}

// parseArgs reads flags, which may come before or after the command.
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("heraldctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "http://127.0.0.1:8080", "REST address of any node")
	token := fs.String("token", "", "bootstrap token (default $HERALD_BOOTSTRAP_TOKEN)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the node")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return options{}, err
			}
			return options{}, errors.New(oneLine(err))
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}

	var opts options
	switch {
	case len(positional) == 0:
		return opts, errors.New("no command; want members, ring, health or remove NAME")
	case positional[0] == "remove" && len(positional) != 2:
		return opts, errors.New("remove: want exactly one node name")
	case positional[0] != "remove" && len(positional) != 1:
		return opts, fmt.Errorf("%s: unexpected argument %q", positional[0], positional[1])
	}
	opts.command = positional[0]
	switch opts.command {
	case "members", "ring", "health":
	case "remove":
		opts.name = positional[1]
		if opts.name == "" {
			return opts, errors.New("remove: node name is empty")
		}
	default:
		return opts, fmt.Errorf("unknown command %q; want members, ring, health or remove",
			opts.command)
	}

	u, err := url.Parse(*addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return opts, fmt.Errorf("--addr %q: want http://host:port or https://host:port", *addr)
	}
	opts.addr = u
	opts.token = *token
	if opts.token == "" {
		opts.token = getenv("HERALD_BOOTSTRAP_TOKEN")
	}
	if opts.token == "" {
		return opts, errors.New("no token: pass --token or set HERALD_BOOTSTRAP_TOKEN")
	}
	if *timeout <= 0 {
		return opts, fmt.Errorf("--timeout %v: must be positive", *timeout)
	}
	opts.timeout = *timeout
	return opts, nil
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// show fetches the cluster status and prints the view command asks for.
func (c *client) show(ctx context.Context, command string, w io.Writer) error {
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	switch command {
	case "members":
		return printMembers(w, st)
	case "ring":
		return printRing(w, st)
	}
	if err := printHealth(w, st); err != nil {
		return err
	}
	if bad := unready(st); len(bad) > 0 {
		return fmt.Errorf("not ready: %s", strings.Join(bad, ", "))
	}
	return nil
}

// decodeJSON decodes at most 8 MiB of r into v.
func decodeJSON(r io.Reader, v any) error {
	return json.NewDecoder(io.LimitReader(r, 8<<20)).Decode(v)
}
