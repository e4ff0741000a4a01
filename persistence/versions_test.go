package persistence

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestLearnNeverOverwritesNewer steps Learn against Accept and checks that
// only a strictly newer (ballot, seq) replaces the stored value, and that
// the promise only ever goes up.
func TestLearnNeverOverwritesNewer(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)
	b := func(round uint64, node string) Ballot { return Ballot{round, node} }
	const key = "user/org#app/carol"

	if _, _, err := s.Accept(key, b(5, "n1"), 3, []byte("v5.3")); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	tests := []struct {
		b         Ballot
		seq       uint64
		value     string
		taken     bool
		wantValue string
		wantSeen  Ballot
	}{
		{b(5, "n1"), 3, "same", false, "v5.3", b(5, "n1")},
		{b(5, "n1"), 2, "older seq", false, "v5.3", b(5, "n1")},
		{b(4, "n9"), 9, "older ballot", false, "v5.3", b(5, "n1")},
		{b(5, "n1"), 4, "v5.4", true, "v5.4", b(5, "n1")},
		{b(7, "n2"), 1, "v7.1", true, "v7.1", b(7, "n2")},
		{b(6, "n3"), 8, "between", false, "v7.1", b(7, "n2")},
	}
	for i, tt := range tests {
		taken, err := s.Learn(key, tt.b, tt.seq, []byte(tt.value))
		if err != nil {
			t.Fatalf("step %d: Learn: %v", i, err)
		}
		if taken != tt.taken {
			t.Fatalf("step %d: Learn(%v, %d) taken = %v, want %v", i, tt.b, tt.seq,
				taken, tt.taken)
		}
		_, value, err := s.Get(key)
		if err != nil || string(value) != tt.wantValue {
			t.Fatalf("step %d: Get = %q, %v, want %q", i, value, err, tt.wantValue)
		}
		seen, err := s.Seen(key)
		if err != nil || seen != tt.wantSeen {
			t.Fatalf("step %d: Seen = %v, %v, want %v", i, seen, err, tt.wantSeen)
		}
	}

	// A learned value under a lower ballot than the promise is still taken
	// if it is newer, and the promise stays where it was.
	const other = "user/org#app/dave"
	if _, err := s.Prepare(other, b(9, "n1")); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if taken, err := s.Learn(other, b(3, "n2"), 2, []byte("old")); err != nil || !taken {
		t.Fatalf("Learn under promise = %v, %v, want taken", taken, err)
	}
	if seen, _ := s.Seen(other); seen != b(9, "n1") {
		t.Fatalf("Seen after Learn = %v, want the promise 9.n1", seen)
	}
	if ok, _, _ := s.Accept(other, b(3, "n2"), 3, []byte("x")); ok {
		t.Fatal("Accept below the promise was taken after Learn")
	}
}

// TestVersionOneRecordsStillRead writes a version-1 record straight into
// Pebble, as an older Herald did, and checks that a store reads it as seq
// 0 and that the next write stores version 2.
func TestVersionOneRecordsStillRead(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)
	closeStore(t, s)

	const key = "app/org#app"
	v1 := []byte{recordVersion1}
	v1 = appendBallot(v1, Ballot{4, "n2"})
	v1 = appendBallot(v1, Ballot{3, "n1"})
	v1 = binary.AppendUvarint(v1, 5)
	v1 = append(v1, "hello"...)
	db, err := pebble.Open("db", &pebble.Options{FS: fs})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	if err := db.Set(registerPebbleKey(key), v1, pebble.Sync); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("pebble Close: %v", err)
	}

	s = openMem(t, fs)
	defer closeStore(t, s)
	version, value, err := s.Get(key)
	want := Version{Ballot{3, "n1"}, 0}
	if err != nil || version != want || string(value) != "hello" {
		t.Fatalf("Get = %v, %q, %v, want %v, %q", version, value, err, want, "hello")
	}
	p, err := s.Prepare(key, Ballot{5, "n1"})
	if err != nil || !p.OK || p.Seq != 0 || string(p.Value) != "hello" {
		t.Fatalf("Prepare = %+v, %v, want ok with seq 0 and the value", p, err)
	}
	if ok, _, err := s.Accept(key, Ballot{5, "n1"}, 1, []byte("new")); err != nil || !ok {
		t.Fatalf("Accept = %v, %v", ok, err)
	}
	raw, err := s.get(registerPebbleKey(key))
	if err != nil || len(raw) == 0 || raw[0] != recordVersion {
		t.Fatalf("record after Accept = %x, %v, want version %d", raw, err, recordVersion)
	}
}

func TestVersionsScan(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)

	var keys []string
	for i := range 25 {
		key := UserKey("org#app", fmt.Sprintf("u%02d", i))
		keys = append(keys, key)
		if _, _, err := s.Accept(key, Ballot{uint64(i + 1), "n1"}, uint64(i+10),
			[]byte("v")); err != nil {
			t.Fatalf("Accept: %v", err)
		}
	}
	// Promised but never written: no version, not scanned.
	if _, err := s.Prepare("app/org#app", Ballot{1, "n1"}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}

	var got []KeyVersion
	after := ""
	for range 10 {
		page, err := s.VersionsAfter(after, 7)
		if err != nil {
			t.Fatalf("VersionsAfter(%q): %v", after, err)
		}
		got = append(got, page...)
		if len(page) < 7 {
			break
		}
		after = page[len(page)-1].Key
	}
	if len(got) != len(keys) {
		t.Fatalf("scanned %d keys, want %d", len(got), len(keys))
	}
	for i, kv := range got {
		want := Version{Ballot{uint64(i + 1), "n1"}, uint64(i + 10)}
		if kv.Key != keys[i] || kv.Version != want {
			t.Fatalf("scan[%d] = %+v, want %s %v", i, kv, keys[i], want)
		}
	}

	versions, err := s.Versions([]string{keys[3], "app/org#app", "missing"})
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	wantVersions := []Version{{Ballot{4, "n1"}, 13}, {}, {}}
	for i := range wantVersions {
		if versions[i] != wantVersions[i] {
			t.Fatalf("Versions[%d] = %v, want %v", i, versions[i], wantVersions[i])
		}
	}

	if _, err := s.VersionsAfter("", 0); err == nil ||
		!strings.Contains(err.Error(), "limit") {
		t.Fatalf("VersionsAfter limit 0 error = %v, want it to name the limit", err)
	}
	if _, err := s.Versions([]string{"ok", ""}); err == nil ||
		!strings.Contains(err.Error(), "keys[1]") {
		t.Fatalf("Versions with an empty key error = %v, want it to name keys[1]", err)
	}
}

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		a, b Version
		want bool
	}{
		{Version{}, Version{Ballot{1, "a"}, 0}, true},
		{Version{Ballot{1, "a"}, 9}, Version{Ballot{2, "a"}, 1}, true},
		{Version{Ballot{2, "a"}, 1}, Version{Ballot{1, "a"}, 9}, false},
		{Version{Ballot{1, "a"}, 1}, Version{Ballot{1, "a"}, 2}, true},
		{Version{Ballot{1, "a"}, 2}, Version{Ballot{1, "a"}, 2}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.want {
			t.Errorf("%v.Less(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
