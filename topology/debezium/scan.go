package debezium

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON containers the decoder accepts
// (records and JSON column values alike); deeper input is malformed_json.
const maxDepth = 512

// scanner walks one JSON text. It never builds a tree: callers read the
// members they need and skip the rest. Errors carry no path; the caller
// that knows where it is adds one.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	s.wsSlow()
}

func (s *scanner) wsSlow() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) syntax(what string) error {
	if s.i >= len(s.b) {
		return newError(MalformedJSON, "", "unexpected end of input, "+what)
	}
	return newError(MalformedJSON, "", what+" at byte "+strconv.Itoa(s.i)+", found "+quoteByte(s.b[s.i]))
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// name reads a member name and the ':' after it, and skips the
// whitespace before the value.
func (s *scanner) name(arena *[]byte) ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.syntax("expected a member name")
	}
	n, err := s.str(arena)
	if err != nil {
		return nil, err
	}
	if s.i < len(s.b) && s.b[s.i] == ':' {
		s.i++
	} else if err := s.expect(':', "expected ':'"); err != nil {
		return nil, err
	}
	s.ws()
	return n, nil
}

// member is an object member name as the JsonConverter writes it,
// `"name":`, prepared for a fast comparison with the input.
type member struct {
	name   string
	quoted []byte
	// The first 16 bytes of quoted as two little-endian words, and masks
	// of the bytes that count (quoted may be shorter); short is whether
	// quoted fits in them.
	w0, w1, m0, m1 uint64
	short          bool
}

func newMember(name string) member {
	mb := member{name: name, quoted: []byte(strconv.Quote(name) + ":")}
	var w, m [2]uint64
	for i := 0; i < len(mb.quoted) && i < 16; i++ {
		w[i/8] |= uint64(mb.quoted[i]) << (8 * (i % 8))
		m[i/8] |= 0xff << (8 * (i % 8))
	}
	mb.w0, mb.w1, mb.m0, mb.m1 = w[0], w[1], m[0], m[1]
	mb.short = len(mb.quoted) <= 16
	return mb
}

func members(names ...string) []member {
	out := make([]member, len(names))
	for i, n := range names {
		out[i] = newMember(n)
	}
	return out
}

// at reports whether the input at i starts with the quoted member. Names
// of up to 14 bytes are compared with two word loads and no call.
func (mb *member) at(b []byte, i int) bool {
	if mb.short && i+16 <= len(b) {
		b = b[i : i+16]
		return (binary.LittleEndian.Uint64(b)^mb.w0)&mb.m0 == 0 && (binary.LittleEndian.Uint64(b[8:])^mb.w1)&mb.m1 == 0
	}
	return mb.atSlow(b, i)
}

func (mb *member) atSlow(b []byte, i int) bool {
	return len(b)-i >= len(mb.quoted) && string(b[i:i+len(mb.quoted)]) == string(mb.quoted)
}

// next follows a member or element value: it consumes ',' and the
// whitespace after it and reports true, or consumes closer ('}' or ']')
// and reports false. Hot loops check for a compact ",\"" themselves
// before calling it.
func (s *scanner) next(closer byte) (bool, error) {
	s.ws()
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
			return true, nil
		case closer:
			s.i++
			return false, nil
		}
	}
	return false, s.syntax("expected ',' or '" + string(rune(closer)) + "'")
}

// expect consumes c (after optional whitespace).
func (s *scanner) expect(c byte, what string) error {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return nil
	}
	return s.syntax(what)
}

// end checks that only whitespace is left.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.syntax("expected end of input")
	}
	return nil
}

// literal consumes the literal lit (true, false, null) at s.i.
func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return nil
	}
	return s.syntax("invalid literal")
}

// isNull consumes null if it is next.
func (s *scanner) isNull() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// stop marks the bytes a string scan must stop at: the quote, the
// backslash and control characters (invalid in JSON strings).
var stop = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c == '"' || c == '\\'
	}
	return t
}()

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// stopMask flags (bit 7 of the byte) the stop bytes among the 8 bytes of
// w, little-endian (SWAR: the classic has-zero-byte and has-less-than
// tests). A flag can be spurious only above a true one, so the lowest flag
// is exact and the mask is zero exactly when there is no stop byte.
func stopMask(w uint64) uint64 {
	q := w ^ (lo8 * '"')
	bs := w ^ (lo8 * '\\')
	return ((q-lo8)&^q | (bs-lo8)&^bs | (w-lo8*0x20)&^w) & hi8
}

// str reads the string at s.i (s.b[s.i] must be '"') and returns its
// content. Without escapes the result aliases the input; with escapes it
// is unescaped into *arena, which grows as needed (earlier results stay
// valid: they keep the old array alive). With a nil arena the string is
// only validated and the raw content returned.
func (s *scanner) str(arena *[]byte) ([]byte, error) {
	b := s.b
	start := s.i + 1
	i := start
	var high uint64 // OR of the bytes passed over: bit 7 set means non-ASCII
	escaped := false
	for {
		// Eight bytes at a time; the lowest flagged byte of a word is
		// exactly the first stop byte in it.
		found := false
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if m := stopMask(w); m != 0 {
				j := bits.TrailingZeros64(m) >> 3
				high |= w & (1<<(8*j) - 1)
				i += j
				found = true
				break
			}
			high |= w
			i += 8
		}
		if !found {
			for i < len(b) && !stop[b[i]] {
				high |= uint64(b[i])
				i++
			}
		}
		if i >= len(b) {
			s.i = len(b)
			return nil, s.syntax("unterminated string")
		}
		c := b[i]
		if c == '"' {
			break
		}
		if c != '\\' {
			s.i = i
			return nil, s.syntax("control character in string")
		}
		escaped = true
		if i+1 >= len(b) {
			s.i = len(b)
			return nil, s.syntax("unterminated string")
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
				s.i = i + 1
				return nil, s.syntax("invalid \\u escape")
			}
			i += 6
		default:
			s.i = i + 1
			return nil, s.syntax("invalid escape")
		}
	}
	raw := b[start:i]
	s.i = i + 1
	if high&hi8 != 0 && !utf8.Valid(raw) {
		s.i = start
		return nil, newError(MalformedJSON, "", "invalid UTF-8 in string at byte "+strconv.Itoa(start))
	}
	if !escaped || arena == nil {
		return raw, nil
	}
	return unescape(arena, raw), nil
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if hexVal(c) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func hex4(h []byte) rune {
	return rune(hexVal(h[0])<<12 | hexVal(h[1])<<8 | hexVal(h[2])<<4 | hexVal(h[3]))
}

// unescape appends the unescaped form of raw (already validated) to *arena
// and returns it. Lone surrogates become U+FFFD, as encoding/json does.
func unescape(arena *[]byte, raw []byte) []byte {
	a := *arena
	mark := len(a)
	for {
		j := bytes.IndexByte(raw, '\\')
		if j < 0 {
			a = append(a, raw...)
			break
		}
		a = append(a, raw[:j]...)
		raw = raw[j+1:]
		switch c := raw[0]; c {
		case '"', '\\', '/':
			a = append(a, c)
		case 'b':
			a = append(a, '\b')
		case 'f':
			a = append(a, '\f')
		case 'n':
			a = append(a, '\n')
		case 'r':
			a = append(a, '\r')
		case 't':
			a = append(a, '\t')
		case 'u':
			r := hex4(raw[1:5])
			raw = raw[4:]
			if r >= 0xD800 && r < 0xDC00 && len(raw) >= 7 && raw[1] == '\\' && raw[2] == 'u' {
				if r2 := hex4(raw[3:7]); r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
					raw = raw[6:]
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			a = utf8.AppendRune(a, r)
		}
		raw = raw[1:]
	}
	*arena = a
	return a[mark:]
}

// digits8 returns how many of the 8 bytes of w (little-endian) are
// ASCII digits before the first one that is not (8 if all are).
func digits8(w uint64) int {
	// A byte is a digit iff neither c-'0' borrows nor c+0x46 carries into
	// bit 7; the lowest flag is exact.
	m := ((w - lo8*'0') | (w + lo8*0x46)) & hi8
	return bits.TrailingZeros64(m) >> 3 // 64>>3 = 8 when m == 0
}

// parse8 returns the value of 8 ASCII digits, the first in the low byte.
func parse8(w uint64) uint64 {
	w -= lo8 * '0'
	w = (w*10 + w>>8) & 0x00ff00ff00ff00ff
	w = (w*100 + w>>16) & 0x0000ffff0000ffff
	return (w*10000 + w>>32) & 0xffffffff
}

// skipDigits returns the index of the first non-digit at or after i.
func skipDigits(b []byte, i int) int {
	for i+8 <= len(b) {
		n := digits8(binary.LittleEndian.Uint64(b[i:]))
		i += n
		if n < 8 {
			return i
		}
	}
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

// number scans the number at s.i and returns its text and whether it is an
// integer (no fraction, no exponent).
func (s *scanner) number() ([]byte, bool, error) {
	b := s.b
	start := s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	d := i
	i = skipDigits(b, i)
	switch {
	case i == d, i-d > 1 && b[d] == '0': // no digit, or a leading zero
		s.i = d
		return nil, false, s.syntax("invalid number")
	}
	isInt := true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, false, s.syntax("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, false, s.syntax("invalid number")
		}
	}
	s.i = i
	return b[start:i], isInt, nil
}

// parseInt parses the text of an integer number as scanned by number.
// ok is false when it does not fit an int64.
func parseInt(t []byte) (v int64, ok bool) {
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range t {
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// int reads an integer number; other tokens are reported as type
// mismatches, overflow as out of range.
func (s *scanner) int() (int64, error) {
	// Fast path: up to 18 digits, not followed by a fraction or exponent.
	b := s.b
	i := s.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	d := i
	var u uint64
	if i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		if n := digits8(w); n == 8 {
			u = parse8(w)
			i += 8
			if i+8 <= len(b) {
				w = binary.LittleEndian.Uint64(b[i:])
				if n := digits8(w); n == 8 {
					u = u*100000000 + parse8(w)
					i += 8
				}
			}
		}
	}
	for i < len(b) && b[i]-'0' < 10 && i-d < 18 {
		u = u*10 + uint64(b[i]-'0')
		i++
	}
	if n := i - d; n > 0 && (n == 1 || b[d] != '0') && (i == len(b) || (b[i]-'0' >= 10 && b[i] != '.' && b[i]|0x20 != 'e')) {
		s.i = i
		if neg {
			return -int64(u), nil
		}
		return int64(u), nil
	}
	return s.intSlow()
}

func (s *scanner) intSlow() (int64, error) {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.mismatch("an integer")
	}
	t, isInt, err := s.number()
	if err != nil {
		return 0, err
	}
	if !isInt {
		return 0, newError(TypeMismatch, "", "expected an integer, found "+string(t))
	}
	v, ok := parseInt(t)
	if !ok {
		return 0, newError(OutOfRange, "", string(t)+" does not fit in int64")
	}
	return v, nil
}

// mismatch reports that the value at s.i is not what was wanted: a type
// mismatch if it is valid JSON, malformed_json otherwise.
func (s *scanner) mismatch(want string) error {
	start := s.i
	if err := s.skip(); err != nil {
		return err
	}
	return newError(TypeMismatch, "", "expected "+want+", found "+tokenName(s.b[start]))
}

func tokenName(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// skip consumes one JSON value, checking its syntax, without recursion.
func (s *scanner) skip() error {
	if s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			return s.skipString()
		case c == 'n':
			return s.literal("null")
		case c == '-' || c >= '0' && c <= '9':
			_, _, err := s.number()
			return err
		}
	}
	return s.skipContainer()
}

func (s *scanner) skipContainer() error {
	var stack [maxDepth / 64]uint64 // bit set: object, clear: array
	depth := 0
	for {
		// A value is expected at s.i.
		s.ws()
		if s.i >= len(s.b) {
			return s.syntax("expected a value")
		}
		switch c := s.b[s.i]; c {
		case '{', '[':
			if depth == maxDepth {
				return newError(MalformedJSON, "", "nesting deeper than "+strconv.Itoa(maxDepth)+" at byte "+strconv.Itoa(s.i))
			}
			s.i++
			s.ws()
			if c == '{' {
				if s.peek() == '}' {
					s.i++
					break
				}
				stack[depth/64] |= 1 << (depth % 64)
				depth++
				if err := s.memberName(); err != nil {
					return err
				}
				continue
			}
			if s.peek() == ']' {
				s.i++
				break
			}
			stack[depth/64] &^= 1 << (depth % 64)
			depth++
			continue
		case '"':
			if err := s.skipString(); err != nil {
				return err
			}
		case 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			if _, _, err := s.number(); err != nil {
				return err
			}
		}
		// After a value: close containers or move to the next element.
		for {
			if depth == 0 {
				return nil
			}
			s.ws()
			object := stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			c := s.peek()
			if c == ',' {
				s.i++
				if object {
					s.ws()
					if err := s.memberName(); err != nil {
						return err
					}
				}
				break
			}
			if (object && c == '}') || (!object && c == ']') {
				s.i++
				depth--
				continue
			}
			if object {
				return s.syntax("expected ',' or '}'")
			}
			return s.syntax("expected ',' or ']'")
		}
	}
}

// memberName consumes `"name" :` inside an object.
func (s *scanner) memberName() error {
	if s.peek() != '"' {
		return s.syntax("expected a member name")
	}
	if err := s.skipString(); err != nil {
		return err
	}
	return s.expect(':', "expected ':'")
}

// skipString consumes a string, validating it.
func (s *scanner) skipString() error {
	_, err := s.str(nil)
	return err
}
