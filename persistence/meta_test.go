package persistence

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestMetaRoundTripSurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)

	if got, err := s.GetMeta("ring"); err != nil || got != nil {
		t.Fatalf("GetMeta(absent) = %q, %v; want nil, nil", got, err)
	}
	if err := s.PutMeta("ring", []byte("v1")); err != nil {
		t.Fatalf("PutMeta: %v", err)
	}
	if err := s.PutMeta("ring", []byte("v2")); err != nil {
		t.Fatalf("PutMeta: %v", err)
	}
	closeStore(t, s)

	s = openMem(t, fs)
	defer closeStore(t, s)
	got, err := s.GetMeta("ring")
	if err != nil || !bytes.Equal(got, []byte("v2")) {
		t.Fatalf("GetMeta after reopen = %q, %v; want v2", got, err)
	}
}

func TestMetaRefusesBadKeys(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)

	for _, key := range []string{"", "layout", string(make([]byte, maxKeyLen+1))} {
		if err := s.PutMeta(key, []byte("x")); err == nil {
			t.Errorf("PutMeta(%.10q) = nil, want an error", key)
		}
		if _, err := s.GetMeta(key); err == nil {
			t.Errorf("GetMeta(%.10q) = nil error, want an error", key)
		}
	}

	// The layout stamp is untouched, so the store still opens.
	if got, err := s.get([]byte(metaLayoutKey)); err != nil || len(got) != 1 {
		t.Fatalf("layout stamp = %v, %v", got, err)
	}
}

func TestMetaAfterClose(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	closeStore(t, s)
	if err := s.PutMeta("ring", nil); err != ErrClosed {
		t.Fatalf("PutMeta after Close = %v, want ErrClosed", err)
	}
	if _, err := s.GetMeta("ring"); err != ErrClosed {
		t.Fatalf("GetMeta after Close = %v, want ErrClosed", err)
	}
}
