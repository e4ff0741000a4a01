package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one setting. Field is the YAML key.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate reports every problem at once, as a list of *FieldError joined
// on one line (use errors.As, or errors.Unwrap's []error form, to inspect
// them). Messages never contain a secret's value.
func (c Config) Validate() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, &FieldError{Field: field, Err: err})
		}
	}

	add("data_dir", checkDataDir(c.DataDir))
	add("http_addr", checkListenAddr(c.HTTPAddr))
	add("gossip_addr", checkListenAddr(c.GossipAddr))
	add("remote_addr", checkListenAddr(c.RemoteAddr))
	add("remote_addr", checkDistinct("gossip_addr", c.GossipAddr, c.RemoteAddr))
	add("http_addr", checkDistinct("gossip_addr", c.GossipAddr, c.HTTPAddr))
	add("http_addr", checkDistinct("remote_addr", c.RemoteAddr, c.HTTPAddr))
	// An advertised address is dialled by peers: it needs a real host and
	// port, exactly like a seed.
	advertised := []struct{ field, addr string }{
		{"gossip_advertise_addr", c.GossipAdvertiseAddr},
		{"remote_advertise_addr", c.RemoteAdvertiseAddr},
		{"http_advertise_addr", c.HTTPAdvertiseAddr},
	}
	for _, a := range advertised {
		if a.addr != "" {
			add(a.field, checkSeed(a.addr))
		}
	}
	if c.NodeName != "" {
		add("node_name", checkName(c.NodeName))
	}
	for i, seed := range c.Seeds {
		add(fmt.Sprintf("seeds[%d]", i), checkSeed(seed))
	}
	add("log_level", checkLogLevel(c.LogLevel))
	add("cluster_name", checkName(c.ClusterName))
	add("bootstrap_token", checkBootstrapToken(c.BootstrapToken))
	if _, err := c.GossipKeyBytes(); err != nil {
		add("gossip_key", errors.New(strings.TrimPrefix(err.Error(), "decode gossip key: ")))
	}

	// The order checks run only when both sides are valid on their own,
	// so one bad value is reported once.
	maxErr, defErr := checkTTL(c.TokenMaxTTL), checkTTL(c.TokenDefaultTTL)
	add("token_max_ttl", maxErr)
	add("token_default_ttl", defErr)
	if maxErr == nil && defErr == nil && c.TokenDefaultTTL > c.TokenMaxTTL {
		add("token_default_ttl", fmt.Errorf("%v exceeds token_max_ttl %v",
			c.TokenDefaultTTL, c.TokenMaxTTL))
	}
	add("delivery_max_in_flight", checkRange(c.DeliveryMaxInFlight, 1, 10000))
	add("delivery_queue_size", checkRange(c.DeliveryQueueSize, 1, 1000000))
	add("grain_idle_timeout", checkDuration(c.GrainIdleTimeout, 100*time.Millisecond, 24*time.Hour))
	add("soft_sync_interval", checkDuration(c.SoftSyncInterval, 10*time.Millisecond, time.Minute))
	maxErr = checkDuration(c.PushMaxTimeout, time.Second, time.Hour)
	defErr = checkDuration(c.PushTimeout, time.Second, time.Hour)
	add("push_max_timeout", maxErr)
	add("push_timeout", defErr)
	if maxErr == nil && defErr == nil && c.PushTimeout > c.PushMaxTimeout {
		add("push_timeout", fmt.Errorf("%v exceeds push_max_timeout %v",
			c.PushTimeout, c.PushMaxTimeout))
	}
	add("feedback_poll_interval",
		checkDuration(c.FeedbackPollInterval, 100*time.Millisecond, 24*time.Hour))
	c.checkRemoteTLS(add)
	return joinErrors(errs)
}

func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("is empty")
	}
	if strings.ContainsRune(dir, 0) {
		return errors.New("contains a NUL byte")
	}
	return nil
}

// splitAddr parses host:port with a numeric port in 0..65535.
func splitAddr(addr string) (host string, port int, err error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err = strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q has no valid port", addr)
	}
	return host, port, nil
}

// checkListenAddr accepts host:port; an empty host listens everywhere and
// port 0 lets the system choose.
func checkListenAddr(addr string) error {
	_, _, err := splitAddr(addr)
	return err
}

// checkDistinct reports two listeners that would bind the same port.
func checkDistinct(otherName, other, addr string) error {
	h1, p1, err1 := splitAddr(other)
	h2, p2, err2 := splitAddr(addr)
	if err1 != nil || err2 != nil || p1 == 0 || p1 != p2 {
		return nil
	}
	if h1 == h2 || isWildcard(h1) || isWildcard(h2) {
		return fmt.Errorf("%q uses the same port as %s %q", addr, otherName, other)
	}
	return nil
}

func isWildcard(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

func checkSeed(seed string) error {
	host, port, err := splitAddr(seed)
	if err != nil {
		return err
	}
	if host == "" || port == 0 {
		return fmt.Errorf("%q needs a host and a non-zero port", seed)
	}
	return nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%q must be 1-64 of [A-Za-z0-9._-], starting alphanumeric", name)
	}
	return nil
}

func checkLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
		return nil
	}
	var l slog.Level
	if l.UnmarshalText([]byte(level)) == nil {
		return nil // forms like "debug-2" or "INFO+1"
	}
	return fmt.Errorf("%q is not one of debug, info, warn, error", level)
}

func checkBootstrapToken(token Secret) error {
	t := token.Reveal()
	switch {
	case t == "":
		return nil
	case len(t) < 16:
		return fmt.Errorf("is %d characters, want at least 16", len(t))
	case len(t) > 256:
		return fmt.Errorf("is %d characters, want at most 256", len(t))
	case strings.ContainsAny(t, " \t\r\n"):
		return errors.New("contains whitespace")
	}
	return nil
}

func checkTTL(d time.Duration) error {
	if d < time.Second {
		return fmt.Errorf("%v is below 1s", d)
	}
	if d%time.Second != 0 {
		return fmt.Errorf("%v is not whole seconds", d)
	}
	return nil
}

func checkRange(n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%d is outside %d..%d", n, lo, hi)
	}
	return nil
}

func checkDuration(d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%v is outside %v..%v", d, lo, hi)
	}
	return nil
}

// checkRemoteTLS wants all three remote TLS files or none, each readable.
func (c Config) checkRemoteTLS(add func(string, error)) {
	files := []struct{ key, path string }{
		{"remote_tls_ca", c.RemoteTLSCA},
		{"remote_tls_cert", c.RemoteTLSCert},
		{"remote_tls_key", c.RemoteTLSKey},
	}
	set := 0
	for _, f := range files {
		if f.path != "" {
			set++
		}
	}
	if set == 0 {
		return
	}
	for _, f := range files {
		if f.path == "" {
			add(f.key, errors.New("required when any remote_tls_* file is set"))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add(f.key, fmt.Errorf("%q is not readable", f.path))
		}
	}
}
