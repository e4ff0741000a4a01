package persistence

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestAcceptorScript steps one acceptor through a script of Prepare and
// Accept calls and checks every answer.
func TestAcceptorScript(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)

	b := func(round uint64, node string) Ballot { return Ballot{round, node} }
	const key = "user/org#app/alice"
	type step struct {
		op    string // "prepare" or "accept"
		b     Ballot
		seq   uint64 // accept: seq to write; prepare: seq wanted back
		value string // accept: value to write; prepare: value wanted back
		ok    bool
		// prepare: promised and accepted wanted; accept: promised wanted.
		promised, accepted Ballot
		absent             bool // prepare: wanted value nil
	}
	script := []step{
		{op: "prepare", b: b(1, "n1"), ok: true, promised: b(1, "n1"), absent: true},
		{op: "prepare", b: b(1, "n1"), ok: false, promised: b(1, "n1")},
		{op: "prepare", b: b(1, "a"), ok: false, promised: b(1, "n1")},
		{op: "accept", b: b(1, "a"), seq: 1, value: "x", ok: false, promised: b(1, "n1")},
		{op: "accept", b: b(1, "n1"), seq: 1, value: "v1", ok: true, promised: b(1, "n1")},
		{op: "accept", b: b(1, "n1"), seq: 2, value: "v2", ok: true, promised: b(1, "n1")},
		// A resend of an older seq is acknowledged and changes nothing.
		{op: "accept", b: b(1, "n1"), seq: 1, value: "v1 again", ok: true,
			promised: b(1, "n1")},
		{op: "accept", b: b(1, "n1"), seq: 2, value: "v2 other", ok: true,
			promised: b(1, "n1")},
		{op: "prepare", b: b(1, "n2"), ok: true, promised: b(1, "n2"),
			accepted: b(1, "n1"), seq: 2, value: "v2"},
		{op: "accept", b: b(1, "n1"), seq: 3, value: "stale", ok: false, promised: b(1, "n2")},
		{op: "accept", b: b(3, "n1"), seq: 1, value: "v3", ok: true, promised: b(3, "n1")},
		{op: "prepare", b: b(2, "n9"), ok: false, promised: b(3, "n1"),
			accepted: b(3, "n1"), seq: 1},
		{op: "prepare", b: b(4, "n2"), ok: true, promised: b(4, "n2"),
			accepted: b(3, "n1"), seq: 1, value: "v3"},
		{op: "accept", b: b(4, "n2"), seq: 1, value: "", ok: true, promised: b(4, "n2")},
		{op: "prepare", b: b(5, "n1"), ok: true, promised: b(5, "n1"),
			accepted: b(4, "n2"), seq: 1, value: ""},
		{op: "accept", b: b(5, "n1"), seq: 7, value: "v7", ok: true, promised: b(5, "n1")},
		{op: "prepare", b: b(6, "n1"), ok: true, promised: b(6, "n1"),
			accepted: b(5, "n1"), seq: 7, value: "v7"},
	}
	for i, st := range script {
		switch st.op {
		case "prepare":
			p, err := s.Prepare(key, st.b)
			if err != nil {
				t.Fatalf("step %d: Prepare(%v): %v", i, st.b, err)
			}
			if p.OK != st.ok || p.Promised != st.promised || p.Accepted != st.accepted ||
				p.Seq != st.seq {
				t.Fatalf("step %d: Prepare(%v) = ok %v promised %v accepted %v seq %d, "+
					"want ok %v promised %v accepted %v seq %d", i, st.b, p.OK,
					p.Promised, p.Accepted, p.Seq, st.ok, st.promised, st.accepted, st.seq)
			}
			if !st.ok {
				continue
			}
			if st.absent != (p.Value == nil) || !bytes.Equal(p.Value, []byte(st.value)) {
				t.Fatalf("step %d: Prepare(%v) value = %q (nil %v), want %q (nil %v)",
					i, st.b, p.Value, p.Value == nil, st.value, st.absent)
			}
		case "accept":
			ok, promised, err := s.Accept(key, st.b, st.seq, []byte(st.value))
			if err != nil {
				t.Fatalf("step %d: Accept(%v, %d): %v", i, st.b, st.seq, err)
			}
			if ok != st.ok || promised != st.promised {
				t.Fatalf("step %d: Accept(%v, %d) = %v, %v, want %v, %v",
					i, st.b, st.seq, ok, promised, st.ok, st.promised)
			}
		}
	}
}

func TestAcceptorRejectsBadInput(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)

	good := Ballot{1, "n1"}
	tests := []struct {
		name  string
		key   string
		b     Ballot
		seq   uint64
		value []byte
		want  string
	}{
		{"empty key", "", good, 1, nil, "key is empty"},
		{"long key", strings.Repeat("k", maxKeyLen+1), good, 1, nil, "key is 1025 bytes"},
		{"zero round", "k", Ballot{0, "n1"}, 1, nil, "round is zero"},
		{"empty node", "k", Ballot{1, ""}, 1, nil, "node is empty"},
		{"long node", "k", Ballot{1, strings.Repeat("n", 256)}, 1, nil, "node is 256 bytes"},
		{"huge value", "k", good, 1, make([]byte, maxValueLen+1), "value is"},
		{"zero seq", "k", good, 0, []byte("v"), "seq is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Accept(tt.key, tt.b, tt.seq, tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Accept(%.20q, %v) error = %v, want it to contain %q",
					tt.key, tt.b, err, tt.want)
			}
			_, err = s.Learn(tt.key, tt.b, tt.seq, tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Learn(%.20q, %v) error = %v, want it to contain %q",
					tt.key, tt.b, err, tt.want)
			}
			if tt.value != nil {
				return
			}
			_, err = s.Prepare(tt.key, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare(%.20q, %v) error = %v, want it to contain %q",
					tt.key, tt.b, err, tt.want)
			}
		})
	}

	// Nothing was written by the refused calls.
	rec, err := s.readRecord("k")
	if err != nil || rec.promised != (Ballot{}) || rec.hasValue() {
		t.Fatalf("record after refused calls = %+v, %v, want zero", rec, err)
	}
}

func TestBallotLess(t *testing.T) {
	tests := []struct {
		a, b Ballot
		want bool
	}{
		{Ballot{}, Ballot{1, ""}, true},
		{Ballot{1, "b"}, Ballot{2, "a"}, true},
		{Ballot{2, "a"}, Ballot{1, "b"}, false},
		{Ballot{1, "a"}, Ballot{1, "b"}, true},
		{Ballot{1, "b"}, Ballot{1, "a"}, false},
		{Ballot{1, "a"}, Ballot{1, "a"}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.want {
			t.Errorf("%v.Less(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRecordEncoding(t *testing.T) {
	records := []record{
		{},
		{promised: Ballot{7, "n1"}},
		{promised: Ballot{9, "n2"}, accepted: Ballot{8, "n1"}, seq: 3, value: []byte("hello")},
		{promised: Ballot{1 << 62, "x"}, accepted: Ballot{1 << 62, "x"}, seq: 1 << 60,
			value: []byte{}},
	}
	for _, r := range records {
		buf := r.encode()
		got, err := decodeRecord(buf)
		if err != nil {
			t.Fatalf("decodeRecord(encode(%+v)): %v", r, err)
		}
		if got.promised != r.promised || got.accepted != r.accepted || got.seq != r.seq ||
			!bytes.Equal(got.value, r.value) {
			t.Fatalf("decodeRecord(encode(%+v)) = %+v", r, got)
		}

		// Every truncation and a trailing byte must be detected.
		for n := 0; n < len(buf); n++ {
			if _, err := decodeRecord(buf[:n]); !errors.Is(err, errCorruptRecord) {
				t.Fatalf("decodeRecord(%x) error = %v, want corrupt", buf[:n], err)
			}
		}
		long := append(append([]byte(nil), buf...), 0)
		if _, err := decodeRecord(long); !errors.Is(err, errCorruptRecord) {
			t.Fatalf("decodeRecord(%x) error = %v, want corrupt", long, err)
		}
		if buf[0] != recordVersion {
			t.Fatalf("encode(%+v) wrote record version %d, want %d",
				r, buf[0], recordVersion)
		}
	}
}
