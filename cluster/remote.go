package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// RemoteTLS names the PEM files that secure Proto.Actor remote traffic
// with mutual TLS: every node and client presents a certificate signed by
// the CA and accepts only peers whose certificate the CA signed. A node's
// certificate must name the host of its remote address (IP or DNS SAN),
// since peers verify it when they dial. All three empty: plain gRPC.
type RemoteTLS struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Enabled reports whether any file is named; Validate then wants all.
func (t RemoteTLS) Enabled() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// Validate reports a half-configured TLS: all three files or none.
func (t RemoteTLS) Validate() error {
	if !t.Enabled() {
		return nil
	}
	var errs []error
	for _, f := range []struct{ name, path string }{
		{"CAFile", t.CAFile}, {"CertFile", t.CertFile}, {"KeyFile", t.KeyFile},
	} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: required when remote TLS is configured", f.name))
		}
	}
	return errors.Join(errs...)
}

// configs loads the files into a server and a client TLS configuration.
func (t RemoteTLS) configs() (server, client *tls.Config, err error) {
	if err := t.Validate(); err != nil {
		return nil, nil, err
	}
	caPEM, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read remote tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("read remote tls ca %s: no PEM certificate", t.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load remote tls certificate: %w", err)
	}
	server = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
	}
	return server, client, nil
}

// RemoteOptions returns the Proto.Actor remote options every Herald
// process uses: mutual TLS when t names certificates, and always a guard
// that turns a panic while reading a peer's stream into a closed stream.
//
// The guard exists because Proto.Actor's remote decodes incoming
// envelopes on the gRPC handler goroutine and panics on an unknown type
// name, a serializer id or type index out of range, or a bad target index;
// gRPC does not recover handler panics, so one bogus envelope would kill
// the process. With the guard only that stream ends.
func RemoteOptions(t RemoteTLS, logger *slog.Logger) ([]remote.ConfigOption, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	server := []grpc.ServerOption{
		grpc.ChainStreamInterceptor(recoverStream(logger)),
		grpc.ChainUnaryInterceptor(recoverUnary(logger)),
	}
	if !t.Enabled() {
		return []remote.ConfigOption{remote.WithServerOptions(server...)}, nil
	}
	serverTLS, clientTLS, err := t.configs()
	if err != nil {
		return nil, err
	}
	server = append(server, grpc.Creds(credentials.NewTLS(serverTLS)))
	return []remote.ConfigOption{
		remote.WithServerOptions(server...),
		remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(clientTLS))),
	}, nil
}

// errPeerPanic is what a peer whose stream made the remote panic sees.
var errPeerPanic = status.Error(codes.Internal, "malformed remote message")

func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo,
		handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				logPanic(logger, info.FullMethod, r)
				err = errPeerPanic
			}
		}()
		return handler(srv, ss)
	}
}

func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo,
		handler grpc.UnaryHandler) (_ any, err error) {
		defer func() {
			if r := recover(); r != nil {
				logPanic(logger, info.FullMethod, r)
				err = errPeerPanic
			}
		}()
		return handler(ctx, req)
	}
}

func logPanic(logger *slog.Logger, method string, r any) {
	logger.Error("remote stream panicked; closed it", slog.String("method", method),
		slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
}
