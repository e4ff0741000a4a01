package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Ballot orders register writers: higher Round wins, Node breaks ties. The
// zero Ballot sorts below every ballot a writer can hold.
type Ballot struct {
	Round uint64
	Node  string
}

// Less reports whether b orders before o.
func (b Ballot) Less(o Ballot) bool {
	if b.Round != o.Round {
		return b.Round < o.Round
	}
	return b.Node < o.Node
}

// IsZero reports whether b is the zero ballot ("none").
func (b Ballot) IsZero() bool {
	return b.Round == 0 && b.Node == ""
}

func (b Ballot) String() string {
	return fmt.Sprintf("%d.%s", b.Round, b.Node)
}

// maxBallot returns the larger of two ballots.
func maxBallot(a, b Ballot) Ballot {
	if a.Less(b) {
		return b
	}
	return a
}

// validateBallot checks a ballot that a writer presents. A zero round is
// reserved for "none", and node names are bounded so records stay small.
func validateBallot(b Ballot) error {
	if b.Round == 0 {
		return errors.New("ballot round is zero")
	}
	if b.Node == "" {
		return errors.New("ballot node is empty")
	}
	if len(b.Node) > maxNodeLen {
		return fmt.Errorf("ballot node is %d bytes, max %d", len(b.Node), maxNodeLen)
	}
	return nil
}

const maxNodeLen = 255

const recordVersion = 1

// record is the acceptor state of one register key.
type record struct {
	promised Ballot
	accepted Ballot
	value    []byte // meaningful only when accepted is not zero
}

func (r record) hasValue() bool {
	return !r.accepted.IsZero()
}

func appendBallot(buf []byte, b Ballot) []byte {
	buf = binary.AppendUvarint(buf, b.Round)
	buf = binary.AppendUvarint(buf, uint64(len(b.Node)))
	return append(buf, b.Node...)
}

func (r record) encode() []byte {
	n := 1 + 2*(2*binary.MaxVarintLen64+maxNodeLen) + binary.MaxVarintLen64
	buf := make([]byte, 0, n+len(r.value))
	buf = append(buf, recordVersion)
	buf = appendBallot(buf, r.promised)
	buf = appendBallot(buf, r.accepted)
	if r.hasValue() {
		buf = binary.AppendUvarint(buf, uint64(len(r.value)))
		buf = append(buf, r.value...)
	}
	return buf
}

var errCorruptRecord = errors.New("corrupt register record")

// decoder reads a record's fields in order; the first failure sticks.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errCorruptRecord
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = errCorruptRecord
		return nil
	}
	out := make([]byte, n)
	copy(out, d.buf[:n])
	d.buf = d.buf[n:]
	return out
}

func (d *decoder) ballot() Ballot {
	round := d.uvarint()
	node := d.bytes()
	return Ballot{Round: round, Node: string(node)}
}

// decodeRecord parses a stored record. The result owns its memory, so the
// caller may release the Pebble buffer it came from.
func decodeRecord(buf []byte) (record, error) {
	if len(buf) == 0 || buf[0] != recordVersion {
		return record{}, errCorruptRecord
	}
	d := decoder{buf: buf[1:]}
	var r record
	r.promised = d.ballot()
	r.accepted = d.ballot()
	if !r.accepted.IsZero() {
		r.value = d.bytes()
	}
	if d.err == nil && len(d.buf) != 0 {
		d.err = errCorruptRecord
	}
	if d.err != nil {
		return record{}, d.err
	}
	return r, nil
}
