package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// apiError is one entry of the client-visible error catalogue (§11.1).
type apiError struct {
	status      int
	code        string
	exception   string
	description string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.description)
}

func errInvalid(field string) *apiError {
	return &apiError{http.StatusBadRequest, "illegal_argument", "IllegalArgumentException",
		"parameters is invalid : " + field}
}

func errUnauthorized() *apiError {
	return &apiError{http.StatusUnauthorized, "unauthorized", "UnauthorizedException",
		"Unable to authenticate (OAuth)"}
}

func errForbidden() *apiError {
	return &apiError{http.StatusForbidden, "forbidden_op", "ForbiddenOperationException",
		"forbidden operation"}
}

func errNotFound() *apiError {
	return &apiError{http.StatusNotFound, "service_resource_not_found",
		"ResourceNotFoundException", "url is invalid"}
}

func errTooLarge() *apiError {
	return &apiError{http.StatusBadRequest, "message_send_error", "MessageTooLargeException",
		"message is too large"}
}

func errRateLimited() *apiError {
	return &apiError{http.StatusTooManyRequests, "reach_limit", "TooManyRequestsException",
		"This request has reached api limit"}
}

func errInternal(description string) *apiError {
	return &apiError{http.StatusInternalServerError, "internal_error", "InternalServerError",
		description}
}

// errUnavailable answers a transient backend failure: the caller may retry.
func errUnavailable(description string) *apiError {
	return &apiError{http.StatusServiceUnavailable, "service_unavailable",
		"ServiceUnavailableException", description}
}

// fromReply maps an actor reply's error onto the catalogue.
func fromReply(e *messages.Error) *apiError {
	switch e.GetCode() {
	case messages.CodeIllegalArgument:
		if e.GetDescription() != "" {
			ae := errInvalid(e.GetField())
			ae.description = e.GetDescription()
			return ae
		}
		return errInvalid(e.GetField())
	case messages.CodeMessageTooLarge:
		return errTooLarge()
	case messages.CodeEntityNotFound:
		return &apiError{http.StatusBadRequest, "entity_not_found", "EntityNotFoundException",
			e.GetDescription()}
	case messages.CodeForbiddenOp:
		return errForbidden()
	case messages.CodeNotFound:
		return errNotFound()
	case messages.CodeUnavailable, messages.CodeOverloaded, messages.CodeTimeout:
		return errUnavailable(orText(e.GetDescription(), e.GetCode()))
	}
	return errInternal(orText(e.GetDescription(), "internal error"))
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// errorBody is the error envelope of §11.1.
type errorBody struct {
	Error       string `json:"error"`
	Exception   string `json:"exception"`
	Description string `json:"error_description"`
	Timestamp   int64  `json:"timestamp"`
	Duration    int64  `json:"duration"`
}

// envelope is the success envelope of §11.1; exactly one of Entities and
// Data is set.
type envelope struct {
	Action          string `json:"action"`
	Application     string `json:"application"`
	Organization    string `json:"organization"`
	ApplicationName string `json:"applicationName"`
	URI             string `json:"uri"`
	Path            string `json:"path"`
	Timestamp       int64  `json:"timestamp"`
	Duration        int64  `json:"duration"`
	Entities        any    `json:"entities,omitempty"`
	Data            any    `json:"data,omitempty"`
}

// data answers 200 with v as the envelope's data.
func (c *call) data(v any) {
	env := c.envelope()
	env.Data = v
	c.writeJSON(http.StatusOK, env)
}

// entities answers 200 with v as the envelope's entities.
func (c *call) entities(v any) {
	env := c.envelope()
	env.Entities = v
	c.writeJSON(http.StatusOK, env)
}

func (c *call) envelope() *envelope {
	now := c.s.opts.Now()
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return &envelope{
		Action:          lowerASCII(c.r.Method),
		Application:     c.app.GetUuid(),
		Organization:    c.app.GetOrg(),
		ApplicationName: c.app.GetName(),
		URI:             scheme + "://" + c.r.Host + c.r.URL.EscapedPath(),
		Path:            c.path,
		Timestamp:       now.UnixMilli(),
		Duration:        now.Sub(c.start).Milliseconds(),
	}
}

// fail answers err: an *apiError as itself, anything else as 500.
func (c *call) fail(err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		c.s.log.Error("request failed", "method", c.r.Method, "path", c.r.URL.Path,
			"err", err)
		ae = errInternal("internal error")
	}
	now := c.s.opts.Now()
	c.writeJSON(ae.status, errorBody{
		Error:       ae.code,
		Exception:   ae.exception,
		Description: ae.description,
		Timestamp:   now.UnixMilli(),
		Duration:    now.Sub(c.start).Milliseconds(),
	})
}

// backendError turns a Go error from Backend into the catalogue: a
// deadline or an ErrUnavailable is transient (503), anything else a fault
// (500).
func (c *call) backendError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errUnavailable("request timed out")
	}
	if errors.Is(err, ErrUnavailable) {
		return errUnavailable("cluster temporarily unavailable, retry")
	}
	return fmt.Errorf("backend: %w", err)
}

// reply is what every actor reply looks like to the REST layer.
type reply interface {
	proto.Message
	GetError() *messages.Error
}

// expect checks a backend answer: a Go error, a reply of another type than
// T or a reply carrying an Error all become the matching catalogue entry.
func expect[T reply](c *call, m proto.Message, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, c.backendError(err)
	}
	r, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("unexpected backend reply %T", m)
	}
	if e := r.GetError(); e != nil {
		return zero, fromReply(e)
	}
	return r, nil
}

func (c *call) writeJSON(status int, v any) {
	c.status = status
	writeJSON(c.w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal_error","exception":"InternalServerError",` +
			`"error_description":"encode response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
