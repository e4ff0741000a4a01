package oem

import (
	"errors"
	"strings"
	"testing"

	"github.com/herald-im/herald/vendors"
)

func TestCutBytes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"hello", -2, ""},
		{"好好", 4, "好"},
		{"好好", 5, "好"},
		{"好好", 2, ""},
		{"aé", 2, "a"},
	}
	for _, tt := range tests {
		if got := CutBytes(tt.s, tt.n); got != tt.want {
			t.Errorf("CutBytes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	build := func(title, body string) ([]byte, error) {
		return []byte(`{"t":"` + title + `","b":"` + body + `","c":"xxxx"}`), nil
	}
	base := len(`{"t":"","b":"","c":"xxxx"}`)
	tests := []struct {
		name        string
		title, body string
		limit       int
		want        string
		err         error
	}{
		{"fits", "T", "B", 100, `{"t":"T","b":"B","c":"xxxx"}`, nil},
		{"body cut", "TT", "BBBB", base + 4, `{"t":"TT","b":"BB","c":"xxxx"}`, nil},
		{"body then title", "TTTT", "BBBB", base + 2, `{"t":"TT","b":"","c":"xxxx"}`, nil},
		{"nothing fits", "T", "B", base - 1, "", ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := Fit(tt.title, tt.body, tt.limit, build)
		if string(got) != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s: Fit = %s, %v; want %s, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestClickAction(t *testing.T) {
	tests := map[string]string{
		"":                           `{"type":3}`,
		"https://x.example/a":        `{"type":2,"url":"https://x.example/a"}`,
		"intent://c#Intent;scheme=x": `{"intent":"intent://c#Intent;scheme=x","type":1}`,
		"com.x.OPEN":                 `{"action":"com.x.OPEN","type":1}`,
	}
	for in, want := range tests {
		if got := string(ClickAction(in)); got != want {
			t.Errorf("ClickAction(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCustomText(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{``, ``, nil},
		{`{ "f" : "a" }`, `{"f":"a"}`, nil},
		{`[1]`, ``, vendors.ErrBadCustom},
		{`{"f":`, ``, vendors.ErrBadCustom},
	}
	for _, tt := range tests {
		got, err := CustomText([]byte(tt.in))
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("CustomText(%q) = %q %v, want %q %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestBaseURLAndToken(t *testing.T) {
	if got, _ := BaseURL("", "https://prod", "endpoint"); got != "https://prod" {
		t.Errorf("BaseURL default = %q", got)
	}
	if got, _ := BaseURL("https://127.0.0.1:9/pfx/", "https://prod", "endpoint"); got !=
		"https://127.0.0.1:9/pfx" {
		t.Errorf("BaseURL override = %q", got)
	}
	for _, bad := range []string{"ftp://x", "://", "https://x/?q=1", "x"} {
		var fe *vendors.FieldError
		if _, err := BaseURL(bad, "https://prod", "endpoint"); !errors.As(err, &fe) ||
			fe.Field != "endpoint" {
			t.Errorf("BaseURL(%q) = %v, want FieldError on endpoint", bad, err)
		}
	}
	for tok, want := range map[string]bool{"abc": true, "": false, "a b": false,
		"a\x00": false, strings.Repeat("a", 513): false} {
		if got := ValidToken(tok); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", tok, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	o := ParseOptions([]byte(`{"a":"x","n":1,"s":"2","obj":{"k":1},"bad":true}`))
	if o.String("a") != "x" || o.String("n") != "" || o.String("missing") != "" {
		t.Errorf("String: %q %q", o.String("a"), o.String("n"))
	}
	if n, ok := o.Int("n"); !ok || n != 1 {
		t.Errorf("Int(n) = %d %v", n, ok)
	}
	if n, ok := o.Int("s"); !ok || n != 2 {
		t.Errorf("Int(s) = %d %v", n, ok)
	}
	if _, ok := o.Int("bad"); ok {
		t.Error("Int(bad) accepted a boolean")
	}
	if string(o.Object("obj")) != `{"k":1}` || o.Object("a") != nil {
		t.Errorf("Object = %s / %s", o.Object("obj"), o.Object("a"))
	}
	if got := o.First([]string{"missing", "a"}, "fb"); got != "x" {
		t.Errorf("First = %q", got)
	}
	if got := o.First([]string{"missing"}, "", "fb"); got != "fb" {
		t.Errorf("First fallback = %q", got)
	}
	if ParseOptions([]byte(`[1]`)) != nil || ParseOptions(nil) != nil {
		t.Error("ParseOptions of a non-object gave options")
	}
}

func TestCodes(t *testing.T) {
	if c, ok := HuaweiCode(CodeBadToken); !ok || c != vendors.TokenInvalid {
		t.Errorf("HuaweiCode(80300007) = %v %v", c, ok)
	}
	if _, ok := HuaweiCode("12"); ok {
		t.Error("HuaweiCode(12) known")
	}
	for _, tt := range []struct {
		status int
		code   string
		want   bool
	}{{401, "80200001", true}, {401, "80200003", true}, {401, "", true},
		{401, "80200005", false}, {200, "80000000", false}} {
		if got := AuthRefused(tt.status, tt.code); got != tt.want {
			t.Errorf("AuthRefused(%d, %q) = %v", tt.status, tt.code, got)
		}
	}
}
