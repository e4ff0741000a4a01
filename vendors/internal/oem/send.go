package oem

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oauth"
)

// Sender makes one push request with the notifier's access token and
// renews the token once when the vendor refuses it (VENDORS.md §1.2).
type Sender struct {
	HTTP    *http.Client
	Tokens  *oauth.Source
	Timeout time.Duration // per request; 0 means DefaultRequestTimeout
}

// Send builds the request for a token with build, sends it and reads the
// answer. When refused says the answer refused the token as unknown or
// expired, the token is dropped, a new one fetched, and the request sent
// once more, immediately; the second answer is final.
//
// A failure without an answer comes back as an error: it wraps
// oauth.ErrRefused when the token endpoint refused the credentials, and is
// otherwise transient.
func (s *Sender) Send(ctx context.Context, build func(token string) (*http.Request, error),
	refused func(Answer) bool) (Answer, error) {

	ans, tok, err := s.attempt(ctx, build)
	if err != nil || !refused(ans) {
		return ans, err
	}
	s.Tokens.Invalidate(tok)
	ans, _, err = s.attempt(ctx, build)
	return ans, err
}

func (s *Sender) attempt(ctx context.Context, build func(string) (*http.Request, error)) (
	Answer, string, error) {

	ctx, cancel := WithTimeout(ctx, s.Timeout)
	defer cancel()
	tok, err := s.Tokens.Token(ctx)
	if err != nil {
		return Answer{}, "", fmt.Errorf("access token: %w", err)
	}
	req, err := build(tok)
	if err != nil {
		return Answer{}, tok, err
	}
	ans, err := Do(s.HTTP, req.WithContext(ctx))
	return ans, tok, err
}

// FailureResult classifies a push that got no answer: a refused token
// request is a credential error, anything else retryable.
func FailureResult(err error) vendors.Result {
	if errors.Is(err, oauth.ErrRefused) {
		return vendors.Result{Class: vendors.CredentialError, Err: err}
	}
	return vendors.Result{Class: vendors.Retryable, Err: err}
}
