package vendorsim

import (
	"encoding/base64"
	"sync"
	"time"
)

// DefaultTokenTTL is how long an issued access token lives when the
// vendor's token_ttl is 0.
const DefaultTokenTTL = time.Hour

// tokensLimit bounds a TokenIssuer; when full, expired tokens go first and
// then everything, which at worst makes clients fetch a token again.
const tokensLimit = 1 << 16

// TokenState is what Check found.
type TokenState int

const (
	TokenUnknown TokenState = iota // never issued (or forgotten by Reset)
	TokenExpired                   // issued, past its ttl
	TokenValid
)

// TokenIssuer hands out random OAuth-style access tokens with an expiry
// and checks them, for vendors whose auth host issues bearer tokens.
type TokenIssuer struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]issuedToken // guarded by mu
}

type issuedToken struct {
	subject string
	expires time.Time
}

func newTokenIssuer(ttl time.Duration, now func() time.Time) *TokenIssuer {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &TokenIssuer{ttl: ttl, now: now, tokens: map[string]issuedToken{}}
}

// TTL is the lifetime of the tokens Issue hands out.
func (ti *TokenIssuer) TTL() time.Duration { return ti.ttl }

// Issue makes a new token for subject (an app or account id) and returns
// it with its lifetime, for the vendor's expires_in.
func (ti *TokenIssuer) Issue(subject string) (string, time.Duration) {
	tok := base64.RawURLEncoding.EncodeToString(randomBytes(24))
	now := ti.now()

	ti.mu.Lock()
	defer ti.mu.Unlock()
	if len(ti.tokens) >= tokensLimit {
		ti.dropExpiredLocked(now)
	}
	if len(ti.tokens) >= tokensLimit {
		clear(ti.tokens)
	}
	ti.tokens[tok] = issuedToken{subject: subject, expires: now.Add(ti.ttl)}
	return tok, ti.ttl
}

// Check says whether tok was issued and is still valid, and for whom.
func (ti *TokenIssuer) Check(tok string) (string, TokenState) {
	now := ti.now()
	ti.mu.Lock()
	defer ti.mu.Unlock()
	it, ok := ti.tokens[tok]
	switch {
	case !ok:
		return "", TokenUnknown
	case !now.Before(it.expires):
		return it.subject, TokenExpired
	}
	return it.subject, TokenValid
}

// ExpireAll makes every issued token expired at once, so tests reach the
// vendor's "token expired" answer without waiting.
func (ti *TokenIssuer) ExpireAll() {
	now := ti.now()
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for k, it := range ti.tokens {
		it.expires = now
		ti.tokens[k] = it
	}
}

func (ti *TokenIssuer) dropExpiredLocked(now time.Time) {
	for k, it := range ti.tokens {
		if !now.Before(it.expires) {
			delete(ti.tokens, k)
		}
	}
}

func (ti *TokenIssuer) reset() {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	clear(ti.tokens)
}
