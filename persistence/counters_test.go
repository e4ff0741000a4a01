package persistence

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestStoreScanSoftRange(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)

	for _, k := range []string{"stats/a#b/APNS/1", "stats/a#b/APNS/2",
		"stats/a#b/APNS/3", "stats/a#b/ANDROID/2", "user/a#b/bob"} {
		if err := s.PutSoft(k, []byte(k)); err != nil {
			t.Fatalf("PutSoft(%q): %v", k, err)
		}
	}
	// Register keys live in another space and never show up.
	if _, _, err := s.Accept(UserKey("a#b", "bob"), Ballot{Round: 1, Node: "n"}, 1,
		[]byte("v")); err != nil {
		t.Fatalf("Accept: %v", err)
	}

	scan := func(from, to string) []string {
		var got []string
		err := s.ScanSoft(from, to, func(k string, v []byte) error {
			if string(v) != k {
				t.Errorf("value of %q = %q", k, v)
			}
			got = append(got, k)
			return nil
		})
		if err != nil {
			t.Fatalf("ScanSoft(%q, %q): %v", from, to, err)
		}
		return got
	}
	if got, want := scan("stats/a#b/APNS/2", "stats/a#b/APNS/4"),
		[]string{"stats/a#b/APNS/2", "stats/a#b/APNS/3"}; !slices.Equal(got, want) {
		t.Errorf("ScanSoft range = %q, want %q", got, want)
	}
	if got := scan("user/", ""); !slices.Equal(got, []string{"user/a#b/bob"}) {
		t.Errorf("ScanSoft open range = %q", got)
	}

	stop := errors.New("stop")
	if err := s.ScanSoft("stats/", "", func(string, []byte) error { return stop }); err != stop {
		t.Errorf("ScanSoft error from fn = %v, want it unchanged", err)
	}
	if err := s.ScanSoft("", "", func(string, []byte) error { return nil }); err == nil {
		t.Error("ScanSoft with empty from: no error")
	}
}
