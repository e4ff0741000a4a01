// Command heraldbench is a load generator that plays an IM core against a
// Herald cluster, and the verifier of what it recorded:
//
//	heraldbench run --herald http://a,http://b --seeds g1,g2 --app org#app \
//	    --users 1000 --duration 60s --rate 200 --journal j.jsonl [--setup ...]
//	heraldbench verify --herald http://a,http://b --sim http://ctl --journal j.jsonl
//
// run binds devices and changes settings for its users, each mutation with
// a value that names the write, and sends messages through package client
// with unique msg ids. Every acknowledged mutation and push goes to the
// journal (package chaos holds the format). verify checks the journal
// against the cluster over REST and against vendorsim's inspection API,
// prints a summary and exits 1 on any loss. Bad flags exit 2.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errLoss is returned when verify finds an acknowledged write missing.
var errLoss = errors.New("acknowledged writes lost")

// run is main without the process; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "verify") {
		cmd, args = args[0], args[1:]
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	var err error
	switch cmd {
	case "run":
		var o runOptions
		if o, err = parseRun(args, stderr); err != nil {
			fmt.Fprintln(stderr, "heraldbench run:", err)
			return 2
		}
		err = runLoad(ctx, o, stdout, logger)
	case "verify":
		var o verifyOptions
		if o, err = parseVerify(args, stderr); err != nil {
			fmt.Fprintln(stderr, "heraldbench verify:", err)
			return 2
		}
		err = runVerify(ctx, o, stdout, logger)
	}
	if err != nil {
		fmt.Fprintf(stderr, "heraldbench %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
