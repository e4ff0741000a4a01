// Package oem holds what the clients of the Huawei-family push services
// (Huawei Push Kit and Honor Push) share: their HTTP transport (h2 when
// offered, else HTTP/1.1, VENDORS.md §1.1, §1.3), bounded answer reading,
// the Android options of em_android_push_ext, text cutting to a byte limit
// (§1.7) and the Huawei result codes Honor reuses (§1.8).
//
// Everything but NewHTTPClient is pure.
package oem

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-im/herald/vendors"
)

// Transport limits of VENDORS.md §1.3.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	readIdleTimeout  = 15 * time.Second
	pingTimeout      = 5 * time.Second
	// MaxConnsPerHost bounds connections to one vendor host: OEM vendors
	// are treated as 16 concurrent requests per notifier (§2).
	MaxConnsPerHost = 16
	// DefaultRequestTimeout bounds one request with its response.
	DefaultRequestTimeout = 10 * time.Second
	// maxAnswer is how much of an answer body is read; maxDrain how much
	// more is drained so the connection can be reused.
	maxAnswer = 64 << 10
	maxDrain  = 256 << 10
)

// ErrTooLarge: the request does not fit its limit even with empty text.
var ErrTooLarge = errors.New("payload does not fit even without text")

// NewHTTPClient returns the client one notifier uses for pushes and token
// requests: TLS 1.2+ against roots (vendors.TrustPool() when nil), HTTP/2
// when the server offers it, else HTTP/1.1, idle connections pinged after
// 15 s. Callers bound each request with a context.
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	if roots == nil {
		roots = vendors.TrustPool()
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: handshakeTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: MaxConnsPerHost,
		MaxConnsPerHost:     MaxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: readIdleTimeout,
			PingTimeout:     pingTimeout,
		},
	}
	return &http.Client{Transport: tr}
}

// Answer is one vendor answer as read: status, the first 64 KiB of the
// body and Retry-After.
type Answer struct {
	Status     int
	Body       []byte
	RetryAfter string
}

// Do sends req and reads at most 64 KiB of its answer, draining and
// closing the rest. The error of a request without an answer names no
// URL (it may hold an app id) but only the cause.
func Do(c *http.Client, req *http.Request) (Answer, error) {
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Answer{}, fmt.Errorf("send: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	return Answer{Status: resp.StatusCode, Body: body,
		RetryAfter: resp.Header.Get("Retry-After")}, nil
}

// WithTimeout bounds ctx by d (DefaultRequestTimeout when 0).
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultRequestTimeout
	}
	return context.WithTimeout(ctx, d)
}

// BaseURL picks the vendor's production base URL or checks an override:
// an absolute http(s) URL, kept with its path prefix, without a trailing
// slash. field names the notifier field for the error.
func BaseURL(override, production, field string) (string, error) {
	if override == "" {
		return production, nil
	}
	u, err := url.Parse(override)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", &vendors.FieldError{Field: field, Reason: "must be an http(s) URL"}
	}
	return strings.TrimSuffix(override, "/"), nil
}

// ValidToken refuses device tokens that are empty, too long or hold
// control characters or spaces; the vendor judges the rest.
func ValidToken(tok string) bool {
	if tok == "" || len(tok) > 512 || !utf8.ValidString(tok) {
		return false
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// CustomText checks the notification's custom data (a JSON object, or
// nothing) and returns it as compact JSON text; "" when there is none.
func CustomText(custom []byte) (string, error) {
	custom = bytes.TrimSpace(custom)
	if len(custom) == 0 {
		return "", nil
	}
	if custom[0] != '{' || !json.Valid(custom) {
		return "", vendors.ErrBadCustom
	}
	var b bytes.Buffer
	if err := json.Compact(&b, custom); err != nil {
		return "", vendors.ErrBadCustom
	}
	return b.String(), nil
}

// CutBytes returns the longest prefix of s of at most n bytes that ends
// at a character boundary.
func CutBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Fit renders with build and, while the result is over limit bytes, cuts
// the body and then the title at a character boundary by the excess and
// renders again (SPEC.md §8, VENDORS.md §1.7). Each round removes at least
// one character, so it ends; when even empty text is over the limit it
// returns ErrTooLarge.
func Fit(title, body string, limit int,
	build func(title, body string) ([]byte, error)) ([]byte, error) {

	for {
		out, err := build(title, body)
		if err != nil {
			return nil, err
		}
		over := len(out) - limit
		switch {
		case over <= 0:
			return out, nil
		case body != "":
			body = CutBytes(body, len(body)-over)
		case title != "":
			title = CutBytes(title, len(title)-over)
		default:
			return nil, ErrTooLarge
		}
	}
}

// Options are the Android options of em_android_push_ext (SPEC.md §7.1),
// with the legacy keys push/ copied in.
type Options map[string]json.RawMessage

// ParseOptions reads the compact JSON object of n.AndroidExt; anything
// that is not an object gives no options, as push/ only passes objects.
func ParseOptions(raw []byte) Options {
	if len(raw) == 0 {
		return nil
	}
	var o Options
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

// String is the string value of key, "" when absent or not a string.
func (o Options) String(key string) string {
	var s string
	if v, ok := o[key]; ok && json.Unmarshal(v, &s) == nil {
		return s
	}
	return ""
}

// Int is the integer value of key (a number or a string of digits).
func (o Options) Int(key string) (int64, bool) {
	v, ok := o[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.Trim(v, `"`)), 10, 64)
	return n, err == nil
}

// Object is the value of key when it is a JSON object, else nil.
func (o Options) Object(key string) json.RawMessage {
	v := bytes.TrimSpace(o[key])
	if len(v) > 0 && v[0] == '{' {
		return v
	}
	return nil
}

// First returns the first non-empty string among the option keys and
// then the fallbacks, in order: "ext key, else legacy key, else notifier".
func (o Options) First(keys []string, fallbacks ...string) string {
	for _, k := range keys {
		if s := o.String(k); s != "" {
			return s
		}
	}
	for _, s := range fallbacks {
		if s != "" {
			return s
		}
	}
	return ""
}

// ClickAction turns a configured click action into the Huawei-family
// click_action object: an http(s) URL opens the page (type 2), an intent
// URI starts that intent (type 1), any other text is an intent action
// (type 1), and nothing opens the app (type 3). SPEC.md §10: "a click
// action missing from ext and notifier opens the app".
func ClickAction(s string) json.RawMessage {
	var v any
	switch {
	case s == "":
		v = map[string]any{"type": 3}
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		v = map[string]any{"type": 2, "url": s}
	case strings.HasPrefix(s, "intent:") || strings.Contains(s, "#Intent;"):
		v = map[string]any{"type": 1, "intent": s}
	default:
		v = map[string]any{"type": 1, "action": s}
	}
	out, _ := json.Marshal(v) // maps of strings and ints always marshal
	return out
}

// ActivityIntent is the intent URI that opens activity of pkg, for
// notifiers that name an activity instead of a click action.
func ActivityIntent(pkg, activity string) string {
	return "#Intent;component=" + pkg + "/" + activity + ";end"
}

// Text is the value of key as text: a string (trimmed) or a number, ""
// otherwise. Vendors whose options may arrive as numbers ("notify_level":
// 2) read them with Text rather than String.
func (o Options) Text(key string) string {
	raw, ok := o[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var num json.Number
	if json.Unmarshal(raw, &num) == nil {
		return num.String()
	}
	return ""
}

// CutRunes keeps at most n characters of s, cutting at a character
// boundary, for vendors whose limits count characters rather than bytes.
func CutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// FirstNonEmpty returns the first of vals that is not "": the SPEC.md §10
// order "ext key, else legacy key, else notifier".
func FirstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// IsObject reports whether b is a JSON object.
func IsObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}
