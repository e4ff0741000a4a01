package vendorsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// ErrBodyTooLarge: a request body is over the handler's limit.
var ErrBodyTooLarge = errors.New("request body too large")

// ReadBody reads at most limit bytes of r's body; a longer body gives
// ErrBodyTooLarge with the first limit bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return body[:limit], ErrBodyTooLarge
	}
	return body, nil
}

// DecodeJSON decodes one JSON value from body into v; trailing data is an
// error. Unknown fields are allowed, as vendors ignore them.
func DecodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode json: %w", err)
	}
	if dec.More() {
		return errors.New("decode json: trailing data")
	}
	return nil
}

// ParseForm parses an application/x-www-form-urlencoded body.
func ParseForm(body []byte) (url.Values, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parse form: %w", err)
	}
	return vals, nil
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	WriteJSON(w, status, map[string]string{"error": err.Error()})
}

// RecordHeaders lowercases names, joins repeated values and masks the
// authorization value after its scheme.
func RecordHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		name := strings.ToLower(k)
		v := strings.Join(vs, ", ")
		if name == "authorization" {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " ***"
		}
		out[name] = v
	}
	return out
}

// RecordPayload keeps a JSON body as is and any other body as a JSON
// string, so a record is always valid JSON.
func RecordPayload(body []byte) json.RawMessage {
	if len(body) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(body) {
		return json.RawMessage(body)
	}
	s, _ := json.Marshal(string(body))
	return s
}

// RecordForm turns a form into a record payload: a JSON object of its
// first values, fields named in secret replaced by "***". A field whose
// value is JSON (an embedded message) is kept as JSON.
func RecordForm(vals url.Values, secret ...string) json.RawMessage {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(k)
		b.Write(name)
		b.WriteByte(':')
		v := vals.Get(k)
		switch {
		case contains(secret, k):
			b.WriteString(`"***"`)
		case strings.HasPrefix(strings.TrimSpace(v), "{") && json.Valid([]byte(v)):
			_ = json.Compact(&b, []byte(v))
		default:
			s, _ := json.Marshal(v)
			b.Write(s)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
