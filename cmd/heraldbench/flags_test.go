package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestParseRunNamesEveryBadFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error; none means valid
	}{
		{"valid", []string{"--herald", "http://127.0.0.1:1", "--seeds", "127.0.0.1:2",
			"--app", "o#a", "--journal", "j", "--token", "t"}, nil},
		{"nothing", nil, []string{"--herald", "--seeds", "--app", "--journal", "--token"}},
		{"bad values", []string{"--herald", "ftp://x", "--seeds", "127.0.0.1:2",
			"--app", "oa", "--journal", "j", "--token", "t", "--users", "0",
			"--rate", "-1"}, []string{"--herald: bad URL", "--app", "--users", "--rate"}},
		{"setup without sim", []string{"--herald", "http://h", "--seeds", "g:1", "--app",
			"o#a", "--journal", "j", "--setup"}, []string{"--setup: needs"}},
		{"no pushes needs no seeds", []string{"--herald", "http://h", "--app", "o#a",
			"--journal", "j", "--token", "t", "--pushers", "0"}, nil},
	}
	for _, tt := range tests {
		t.Setenv("HERALD_BOOTSTRAP_TOKEN", "")
		t.Setenv("HERALD_APP_TOKEN", "")
		_, err := parseRun(tt.args, io.Discard)
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", tt.name, err, w)
			}
		}
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"run"}, {"verify"}, {"verify", "--herald", "x"}} {
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("heraldbench %v exited %d, want 2", args, code)
		}
	}
	if !strings.Contains(errOut.String(), "--journal") {
		t.Errorf("stderr does not name --journal:\n%s", errOut.String())
	}
}
