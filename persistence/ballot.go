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

// Version orders the writes to one register: by the writer's ballot, then
// by the writer's sequence number under that ballot. The zero Version is
// "never written".
type Version struct {
	Ballot Ballot
	Seq    uint64
}

// Less reports whether v orders before o.
func (v Version) Less(o Version) bool {
	if v.Ballot != o.Ballot {
		return v.Ballot.Less(o.Ballot)
	}
	return v.Seq < o.Seq
}

// IsZero reports whether v is "never written".
func (v Version) IsZero() bool {
	return v.Ballot.IsZero()
}

func (v Version) String() string {
	return fmt.Sprintf("%v#%d", v.Ballot, v.Seq)
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

// Record versions. Version 1 had no seq; it still decodes, with seq 0.
const (
	recordVersion1 = 1
	recordVersion  = 2
)

// record is the acceptor state of one register key.
type record struct {
	promised Ballot
	accepted Ballot
	seq      uint64 // the write's place under accepted; 0 in version-1 records
	value    []byte // meaningful only when accepted is not zero
}

// version is the order of the stored value among all writes to the key.
func (r record) version() Version {
	return Version{Ballot: r.accepted, Seq: r.seq}
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
	buf = binary.AppendUvarint(buf, r.seq)
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

// skip passes over a length-prefixed byte string.
func (d *decoder) skip() {
	n := d.uvarint()
	if d.err != nil {
		return
	}
	if n > uint64(len(d.buf)) {
		d.err = errCorruptRecord
		return
	}
	d.buf = d.buf[n:]
}

func (d *decoder) ballot() Ballot {
	round := d.uvarint()
	node := d.bytes()
	return Ballot{Round: round, Node: string(node)}
}

// decodeRecord parses a stored record. The result owns its memory, so the
// caller may release the Pebble buffer it came from.
func decodeRecord(buf []byte) (record, error) {
	return decode(buf, true)
}

// decodeVersion parses a stored record without copying its value.
func decodeVersion(buf []byte) (record, error) {
	return decode(buf, false)
}

func decode(buf []byte, withValue bool) (record, error) {
	if len(buf) == 0 || (buf[0] != recordVersion && buf[0] != recordVersion1) {
		return record{}, errCorruptRecord
	}
	d := decoder{buf: buf[1:]}
	var r record
	r.promised = d.ballot()
	r.accepted = d.ballot()
	if buf[0] == recordVersion {
		r.seq = d.uvarint()
	}
	if !r.accepted.IsZero() {
		if withValue {
			r.value = d.bytes()
		} else {
			d.skip()
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.err = errCorruptRecord
	}
	if d.err != nil {
		return record{}, d.err
	}
	return r, nil
}
