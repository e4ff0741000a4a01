package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// errRefused marks an answer that resending cannot change (a 4xx other
// than 408 and 429): the request itself is wrong.
var errRefused = errors.New("request refused")

// rest sends REST requests round-robin over the nodes and fails over to
// the next node when one does not answer.
type rest struct {
	bases []string
	hc    *http.Client
	next  atomic.Uint64
}

func newREST(bases []string, attempt time.Duration) *rest {
	return &rest{bases: bases, hc: &http.Client{Timeout: attempt}}
}

// once sends one request to the next node and decodes a 200 answer's
// body into out. It returns the status (0 when nothing answered).
func (r *rest) once(ctx context.Context, method, path, token string, body, out any) (
	int, error) {
	base := r.bases[r.next.Add(1)%uint64(len(r.bases))]
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s%s: %w", method, base, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("%s %s%s: read answer: %w", method, base, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%s %s%s: status %d: %s", method, base, path, resp.StatusCode,
			strings.TrimSpace(string(raw)))
		if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout &&
			resp.StatusCode != http.StatusTooManyRequests {
			err = fmt.Errorf("%w: %w", errRefused, err)
		}
		return resp.StatusCode, err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s%s: decode answer: %w", method, base,
				path, err)
		}
	}
	return resp.StatusCode, nil
}

// call sends the request until a node answers 200, the request is
// refused, or ctx ends. Each failure moves on to the next node after a
// short pause.
func (r *rest) call(ctx context.Context, method, path, token string, body, out any) error {
	var last error
	for n := 0; ; n++ {
		if n > 0 {
			if err := backoff(ctx, n); err != nil {
				return fmt.Errorf("%w (last: %w)", err, last)
			}
		}
		_, err := r.once(ctx, method, path, token, body, out)
		if err == nil || errors.Is(err, errRefused) {
			return err
		}
		last = err
	}
}

// backoff pauses before retry n (n ≥ 1): 50 ms doubling up to 1 s.
func backoff(ctx context.Context, n int) error {
	d := min(50*time.Millisecond<<min(n-1, 5), time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
