// Command herald runs one Herald node: it loads configuration (file, then
// HERALD_* environment, then flags), starts the node and runs until
// SIGINT or SIGTERM, then stops it in order.
//
// With no flags it is a complete single-node system with data under
// ./data and REST on 127.0.0.1:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/config"
	"github.com/herald-im/herald/node"
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process exit, returning the exit code.
func run(args, environ []string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, environ)
	if errors.Is(err, flag.ErrHelp) {
		config.PrintUsage(stderr)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "herald:", oneLine(err))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "herald: invalid configuration:", oneLine(err))
		return 2
	}
	gossipKey, err := cfg.GossipKeyBytes()
	if err != nil {
		fmt.Fprintln(stderr, "herald: gossip key:", oneLine(err))
		return 2
	}

	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	logger.Info("starting", "config", cfg)

	n, err := node.Start(node.Options{
		DataDir:         cfg.DataDir,
		NodeName:        cfg.NodeName,
		HTTPAddr:        cfg.HTTPAddr,
		GossipAddr:      cfg.GossipAddr,
		AdvertiseGossip: cfg.GossipAdvertiseAddr,
		AdvertiseRemote: cfg.RemoteAdvertiseAddr,
		AdvertiseHTTP:   cfg.HTTPAdvertiseAddr,
		RemoteAddr:      cfg.RemoteAddr,
		Seeds:           cfg.Seeds,
		ClusterName:     cfg.ClusterName,
		BootstrapToken:  cfg.BootstrapToken.Reveal(),
		GossipKey:       gossipKey,
		RemoteTLS: membership.RemoteTLS{CAFile: cfg.RemoteTLSCA, CertFile: cfg.RemoteTLSCert,
			KeyFile: cfg.RemoteTLSKey},
		TokenTTL:            cfg.TokenDefaultTTL,
		MaxTokenTTL:         cfg.TokenMaxTTL,
		DeliveryMaxInFlight: cfg.DeliveryMaxInFlight,
		DeliveryQueueSize:   cfg.DeliveryQueueSize,
		GrainIdleTimeout:    cfg.GrainIdleTimeout,
		SoftSyncInterval:    cfg.SoftSyncInterval,
		PushWait:            cfg.PushTimeout,
		MaxPushWait:         cfg.PushMaxTimeout,
		Logger:              logger,
		Out:                 stdout,

		FeedbackPollInterval: cfg.FeedbackPollInterval,
	})
	if err != nil {
		fmt.Fprintln(stderr, "herald:", oneLine(err))
		return 1
	}

	// Run until asked to stop, or until the cluster declared this node
	// dead: its member id is then blocked for good and only a restart
	// with a new id can rejoin.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	code := 0
	select {
	case s := <-signals:
		logger.Info("stopping", "signal", s.String())
	case <-n.Dead():
		logger.Error("the cluster declared this node dead; exiting to restart")
		code = 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.Stop(ctx)
	return code
}

// oneLine folds a possibly multi-line error (Validate lists every problem)
// into the one line the command promises.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
