package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// tokenRequest is the body of POST /{org}/{app}/token (§11.3).
type tokenRequest struct {
	GrantType    *string `json:"grant_type"`
	ClientID     *string `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	Username     *string `json:"username"`
	TTL          *int64  `json:"ttl"`
}

type appTokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Application string `json:"application"`
}

type userTokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	User        struct {
		Username string `json:"username"`
	} `json:"user"`
}

// handleToken issues app tokens for client credentials and user tokens
// for an app token ("inherit"). Answers are bare objects.
func handleToken(c *call) error {
	var req tokenRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	switch deref(req.GrantType) {
	case "client_credentials":
		return c.clientCredentials(&req)
	case "inherit":
		return c.inherit(&req)
	}
	return errInvalid("grant_type")
}

// clientCredentials checks client_id and the secret's hash against the
// app record; both comparisons always run, in constant time.
func (c *call) clientCredentials(req *tokenRequest) error {
	rec, err := c.recordFor()
	if err != nil {
		return err
	}
	id, secret := deref(req.ClientID), deref(req.ClientSecret)
	sum := sha256.Sum256([]byte(secret))
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(rec.GetClientId()))
	secretOK := subtle.ConstantTimeCompare(sum[:], rec.GetClientSecretHash())
	if id == "" || secret == "" || idOK&secretOK != 1 {
		return errUnauthorized()
	}

	ttl, err := c.tokenTTL(req.TTL)
	if err != nil {
		return err
	}
	tok := &token{kind: kindApp, appKey: c.appKey, expiry: c.s.opts.Now().Add(ttl).Unix()}
	c.writeJSON(http.StatusOK, appTokenReply{
		AccessToken: mintToken(rec.GetTokenKey(), tok),
		ExpiresIn:   int64(ttl / time.Second),
		Application: rec.GetUuid(),
	})
	return nil
}

// inherit mints a user token; only an app token of this app may ask.
func (c *call) inherit(req *tokenRequest) error {
	if err := c.authenticate(false); err != nil {
		return err
	}
	user := strings.ToLower(deref(req.Username))
	if user == "" || !utf8.ValidString(user) {
		return errInvalid("username")
	}
	ttl, err := c.tokenTTL(req.TTL)
	if err != nil {
		return err
	}

	tok := &token{kind: kindUser, appKey: c.appKey, user: user,
		expiry: c.s.opts.Now().Add(ttl).Unix()}
	reply := userTokenReply{
		AccessToken: mintToken(c.app.GetTokenKey(), tok),
		ExpiresIn:   int64(ttl / time.Second),
	}
	reply.User.Username = user
	c.writeJSON(http.StatusOK, reply)
	return nil
}

// tokenTTL returns the requested lifetime (seconds, positive), capped at
// the deployment's maximum, or the default when none was requested.
func (c *call) tokenTTL(ttl *int64) (time.Duration, error) {
	if ttl == nil {
		return c.s.opts.TokenTTL, nil
	}
	if *ttl <= 0 {
		return 0, errInvalid("ttl")
	}
	maxSec := int64(c.s.opts.MaxTokenTTL / time.Second)
	return time.Duration(min(*ttl, maxSec)) * time.Second, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
