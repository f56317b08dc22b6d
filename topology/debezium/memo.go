package debezium

import (
	"hash/maphash"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The memo (Options.Memo) lets Check pass over long string values it has
// seen before instead of decoding them again. A bootstrap that reads a
// table newest first checks every older record of a row, to find the bad
// ones, and those records mostly repeat the row's large values (a
// vehicle's features document, in its before and after images). The
// memo keeps, per row and column, the length and hash of the last string
// token of at least memoMin bytes that decoded without error; Check takes
// the same bytes at the same row and column as decoding without error
// again, which they would, since decoding depends on nothing else (the
// kind the plan gives the column is part of the entry).

// memoMin is the length, quotes included, from which a string value is
// remembered: well above the placeholders (docs/debezium.md, Unchanged TOAST values), which decode
// to something else than their bytes.
const memoMin = 256

type memoKey struct {
	table topology.Table
	id    int64
	col   int
}

type memoVal struct {
	n    int    // length of the token, quotes included
	h    uint64 // maphash of the token
	kind valueKind
}

// Check returns the error Decode would return for the record, decoding
// into ch as Decode does, except that a string value the memo knows for
// its row and column is passed over: ch then holds an empty string for
// it. Use it to find the records Decode would reject without keeping
// their changes.
func (d *Decoder) Check(topic string, key, value []byte, ch *Change) error {
	d.checking = true
	defer func() { d.checking = false }()
	return d.Decode(topic, key, value, ch)
}

// known reports whether the string token at b[i:] is the one the memo
// holds for k, with the column kind f.kind, and returns its length.
func (d *Decoder) known(b []byte, i int, k memoKey, f *field) (int, bool) {
	if !d.memoCols[k.table].Has(k.col) {
		return 0, false
	}
	v, ok := d.memo[k]
	if !ok || v.kind != f.kind || i+v.n > len(b) || b[i+v.n-1] != '"' || maphash.Bytes(d.seed, b[i:i+v.n]) != v.h {
		return 0, false
	}
	d.memoHits++
	return v.n, true
}

// remember records the token b[start:end], which decoded without error.
func (d *Decoder) remember(b []byte, start, end int, k memoKey, f *field) {
	if end-start < memoMin || b[start] != '"' {
		return
	}
	d.memo[k] = memoVal{n: end - start, h: maphash.Bytes(d.seed, b[start:end]), kind: f.kind}
	d.memoCols[k.table] = d.memoCols[k.table].With(k.col)
}

// skipImage passes over the row image at s.i as s.skip would, and over
// the string values the memo knows without scanning them. It returns
// false, with s.i anywhere, when it cannot tell: the caller then skips
// from the start with s.skip (which gives its errors).
func (d *Decoder) skipImage(s *scanner, p *plan) bool {
	if s.peek() != '{' {
		return false
	}
	b := s.b
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true
	}
	var id int64
	idKnown := false
	next := 0
	for {
		f, _, n, err := d.imageMember(s, p, next)
		if err != nil {
			return false
		}
		next = n
		switch {
		case f != nil && f.col == 0 && f.kind == vkInt && !idKnown:
			v, err := s.int()
			if err != nil {
				return false
			}
			id, idKnown = v, true
		case f != nil && f.col > 0 && idKnown && s.peek() == '"':
			if n, ok := d.known(b, s.i, memoKey{p.table, id, f.col}, f); ok {
				s.i += n
				break
			}
			if s.skip() != nil {
				return false
			}
		default:
			if s.skip() != nil {
				return false
			}
		}
		if i := s.i; i+1 < len(b) && b[i] == ',' && b[i+1] == '"' {
			s.i = i + 1
			continue
		}
		more, err := s.next('}')
		if err != nil {
			return false
		}
		if !more {
			return true
		}
	}
}
