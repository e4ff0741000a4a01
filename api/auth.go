package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/herald-im/herald/messages"
)

// Access tokens are opaque to clients but self-verifying: the token names
// its app, and the app record's token_key signs it, so checking one needs
// only the (cached) app record and no token store. Rotating an app's
// token_key revokes all its tokens at once.
//
// Layout before base64url (no padding):
//
//	version(1) kind(1) expiry(8, unix seconds, big endian)
//	len(appkey)(uvarint) appkey len(user)(uvarint) user  mac(32)
//
// mac is HMAC-SHA256 over everything before it.

const (
	tokenVersion = 1
	kindApp      = 'a'
	kindUser     = 'u'
	macSize      = sha256.Size
	// maxTokenChars rejects absurd headers before decoding them.
	maxTokenChars = 2048
)

// errBadToken covers every token that cannot be read.
var errBadToken = errors.New("malformed token")

// token is the content of an access token.
type token struct {
	kind   byte
	appKey string
	// user is the lower-cased user id of a user token, "" for an app token.
	user string
	// expiry is the first second (unix) at which the token is refused.
	expiry int64
}

func (t *token) payload() []byte {
	b := make([]byte, 0, 32+len(t.appKey)+len(t.user))
	b = append(b, tokenVersion, t.kind)
	b = binary.BigEndian.AppendUint64(b, uint64(t.expiry))
	b = binary.AppendUvarint(b, uint64(len(t.appKey)))
	b = append(b, t.appKey...)
	b = binary.AppendUvarint(b, uint64(len(t.user)))
	b = append(b, t.user...)
	return b
}

func tokenMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}

// mintToken signs t with an app's token key.
func mintToken(key []byte, t *token) string {
	p := t.payload()
	return base64.RawURLEncoding.EncodeToString(append(p, tokenMAC(key, p)...))
}

// parseToken decodes s without checking its signature.
func parseToken(s string) (*token, []byte, []byte, error) {
	if len(s) > maxTokenChars {
		return nil, nil, nil, errBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 10+macSize || b[0] != tokenVersion {
		return nil, nil, nil, errBadToken
	}
	payload, mac := b[:len(b)-macSize], b[len(b)-macSize:]

	t := &token{kind: payload[1], expiry: int64(binary.BigEndian.Uint64(payload[2:10]))}
	rest := payload[10:]
	var ok bool
	if t.appKey, rest, ok = readString(rest); !ok {
		return nil, nil, nil, errBadToken
	}
	if t.user, rest, ok = readString(rest); !ok || len(rest) != 0 {
		return nil, nil, nil, errBadToken
	}
	if (t.kind == kindApp) != (t.user == "") || (t.kind != kindApp && t.kind != kindUser) {
		return nil, nil, nil, errBadToken
	}
	return t, payload, mac, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	// Only the shortest length encoding is accepted: one token, one form.
	if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// verify reports whether mac signs payload under key and t is unexpired.
func (t *token) verify(key, payload, mac []byte, now time.Time) bool {
	return len(key) > 0 && hmac.Equal(mac, tokenMAC(key, payload)) && now.Unix() < t.expiry
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authorize applies the route's access rule.
func (c *call) authorize(a access) error {
	switch a {
	case accessBootstrap:
		return c.checkBootstrap()
	case accessApp:
		return c.authenticate(false)
	case accessUser:
		return c.authenticate(true)
	case accessOwnUser:
		if err := c.authenticate(true); err != nil {
			return err
		}
		if c.tok.kind != kindUser {
			return errForbidden()
		}
	}
	return nil
}

// checkBootstrap compares the bearer token with the bootstrap token in
// constant time (hashing first, so lengths leak nothing either).
func (c *call) checkBootstrap() error {
	want := c.s.opts.BootstrapToken
	got, ok := bearer(c.r)
	if want == "" || !ok {
		return errUnauthorized()
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return errUnauthorized()
	}
	return nil
}

// authenticate checks the bearer token against the path's app.
//
// A token that does not verify as a token of the app it names → 401. A
// token that verifies for app A but is used on app B → 403: it proves who
// the caller is, who is not allowed there. A user token is accepted only
// where allowUser is set and only for its own {u}; elsewhere → 403.
func (c *call) authenticate(allowUser bool) error {
	raw, ok := bearer(c.r)
	if !ok {
		return errUnauthorized()
	}
	t, payload, mac, err := parseToken(raw)
	if err != nil {
		return errUnauthorized()
	}
	rec, err := c.s.opts.Backend.App(c.ctx, t.appKey)
	if errors.Is(err, ErrAppNotFound) {
		return errUnauthorized()
	}
	if err != nil {
		return c.backendError(err)
	}
	if !t.verify(rec.GetTokenKey(), payload, mac, c.s.opts.Now()) {
		return errUnauthorized()
	}

	if t.appKey != c.appKey {
		return errForbidden()
	}
	if t.kind == kindUser && (!allowUser || t.user != c.params["u"]) {
		return errForbidden()
	}
	c.app, c.tok = rec, t
	return nil
}

// recordFor loads the path's app for a handler that authenticates by other
// means (client credentials); a missing app cannot authenticate.
func (c *call) recordFor() (*messages.AppRecord, error) {
	rec, err := c.s.opts.Backend.App(c.ctx, c.appKey)
	if errors.Is(err, ErrAppNotFound) {
		return nil, errUnauthorized()
	}
	if err != nil {
		return nil, c.backendError(err)
	}
	return rec, nil
}
