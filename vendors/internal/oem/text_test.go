package oem

import "testing"

// TestOptionsText reads options that may be strings or numbers.
func TestOptionsText(t *testing.T) {
	o := ParseOptions([]byte(`{"s":" ch1 ","n":2,"f":1.5,"b":true,"o":{}}`))
	cases := map[string]string{"s": "ch1", "n": "2", "f": "1.5", "b": "", "o": "", "absent": ""}
	for key, want := range cases {
		if got := o.Text(key); got != want {
			t.Errorf("Text(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestCutRunes cuts at character boundaries, never inside one.
func TestCutRunes(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"您有一条新消息", 3, "您有一"},
		{"a您b", 2, "a您"},
		{"", 1, ""},
		{"abc", 0, ""},
	}
	for _, c := range cases {
		if got := CutRunes(c.in, c.n); got != c.want {
			t.Errorf("CutRunes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := FirstNonEmpty("", "x", "y"); got != "x" {
		t.Errorf("FirstNonEmpty = %q, want x", got)
	}
	if !IsObject([]byte(`{"a":1}`)) || IsObject([]byte(`[1]`)) || IsObject([]byte(`null`)) {
		t.Error("IsObject misclassifies")
	}
}
