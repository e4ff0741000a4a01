package vendorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// APNs refusal reasons (Apple's `reason` strings) the emulator answers.
const (
	reasonMissingProviderToken        = "MissingProviderToken"
	reasonInvalidProviderToken        = "InvalidProviderToken"
	reasonExpiredProviderToken        = "ExpiredProviderToken"
	reasonTooManyProviderTokenUpdates = "TooManyProviderTokenUpdates"
	reasonMissingTopic                = "MissingTopic"
	reasonTopicDisallowed             = "TopicDisallowed"
	reasonBadCertificate              = "BadCertificate"
)

const (
	// apnsTokenTTL is how long Apple accepts a provider token after its iat.
	apnsTokenTTL = time.Hour

	// apnsJWTUpdateWindow: a connection that changes its provider token
	// sooner than this after the last change is refused, as Apple does.
	apnsJWTUpdateWindow = 20 * time.Minute

	// jwtCacheLimit bounds the verified-token cache; it is emptied when
	// full, which only costs re-verification.
	jwtCacheLimit = 10000
)

// apnsConnState is what one APNs connection remembers; guarded by conn.mu.
type apnsConnState struct {
	jwt       string    // last accepted provider token
	jwtSince  time.Time // when the connection switched to it
	expiredAt time.Time // non-zero: refused as expired; the connection is dead
}

// jwtVerdict is the cached result of verifying one provider token.
type jwtVerdict struct {
	team   *apnsTeam
	iat    time.Time
	reason string // "" = signature and claims are good
}

// jwtCache remembers verdicts so each token's signature is checked once.
type jwtCache struct {
	creds *apnsCreds

	mu       sync.Mutex
	verdicts map[string]jwtVerdict // guarded by mu
}

func newJWTCache(creds *apnsCreds) *jwtCache {
	return &jwtCache{creds: creds, verdicts: map[string]jwtVerdict{}}
}

// verdict returns the cached verdict of token, verifying it on first sight.
func (jc *jwtCache) verdict(token string) jwtVerdict {
	jc.mu.Lock()
	v, ok := jc.verdicts[token]
	jc.mu.Unlock()
	if ok {
		return v
	}

	v = jc.verify(token)
	jc.mu.Lock()
	if len(jc.verdicts) >= jwtCacheLimit {
		clear(jc.verdicts)
	}
	jc.verdicts[token] = v
	jc.mu.Unlock()
	return v
}

// verify checks the ES256 signature against the key named by kid, that
// iss is that key's team and that iat is an integer. Age is checked per
// request by the caller, since it changes with time.
func (jc *jwtCache) verify(token string) jwtVerdict {
	var team *apnsTeam
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithJSONNumber(),
		jwt.WithoutClaimsValidation(),
	)
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		team = jc.creds.keyTeam[kid]
		if team == nil {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return team.keys[kid], nil
	})
	if err != nil || team == nil {
		return jwtVerdict{reason: reasonInvalidProviderToken}
	}

	iss, _ := claims["iss"].(string)
	if iss != team.id {
		return jwtVerdict{reason: reasonInvalidProviderToken}
	}
	num, ok := claims["iat"].(json.Number)
	if !ok {
		return jwtVerdict{reason: reasonInvalidProviderToken}
	}
	iat, err := num.Int64()
	if err != nil {
		return jwtVerdict{reason: reasonInvalidProviderToken}
	}
	return jwtVerdict{team: team, iat: time.Unix(iat, 0)}
}

// apnsAuth is who a request authenticated as.
type apnsAuth struct {
	scheme  string // "bearer" or "cert"
	subject string // team id or certificate UID
	team    *apnsTeam
}

var errNoBearer = errors.New("authorization is not a bearer token")

// bearerToken extracts the token of an `authorization: bearer` header.
func bearerToken(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", errNoBearer
	}
	return strings.TrimSpace(token), nil
}

// jwtRules are the token_ttl and jwt_update_window knobs in force.
type jwtRules struct {
	ttl          time.Duration // provider token lifetime from iat
	updateWindow time.Duration // 0: switching tokens is never throttled
}

// jwtRulesOf resolves the knobs of f to their APNs defaults.
func jwtRulesOf(f Faults) jwtRules {
	r := jwtRules{ttl: apnsTokenTTL, updateWindow: apnsJWTUpdateWindow}
	if f.TokenTTL > 0 {
		r.ttl = time.Duration(f.TokenTTL)
	}
	if f.JWTUpdateWindow != nil {
		r.updateWindow = time.Duration(*f.JWTUpdateWindow)
	}
	return r
}

// authenticateJWT checks a provider token for a request on c at now and
// returns the refusal reason, "" if accepted. It also enforces the
// connection rules: an expired token kills the connection, and switching
// tokens too often is throttled.
func (jc *jwtCache) authenticateJWT(c *conn, header string, now time.Time,
	rules jwtRules,
) (apnsAuth, string) {
	token, err := bearerToken(header)
	if err != nil {
		return apnsAuth{}, reasonInvalidProviderToken
	}
	v := jc.verdict(token)
	if v.reason != "" {
		return apnsAuth{}, v.reason
	}
	auth := apnsAuth{scheme: "bearer", subject: v.team.id, team: v.team}

	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.apns
	if now.Sub(v.iat) > rules.ttl {
		st.expiredAt = now
		return auth, reasonExpiredProviderToken
	}
	if token != st.jwt {
		if st.jwt != "" && now.Sub(st.jwtSince) < rules.updateWindow {
			return auth, reasonTooManyProviderTokenUpdates
		}
		st.jwt, st.jwtSince = token, now
	}
	return auth, ""
}

// connExpired reports whether c already refused an expired token; such a
// connection refuses everything after (VENDORS.md §3.6).
func connExpired(c *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.apns.expiredAt.IsZero()
}
