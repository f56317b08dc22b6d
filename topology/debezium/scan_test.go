package debezium

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStopMask checks the SWAR scan against the byte table: the mask is
// zero exactly when no byte is a stop byte, and its lowest flag is the
// first stop byte.
func TestStopMask(t *testing.T) {
	interesting := []byte{0, 1, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xe2, 0xff, 'a', 'Z'}
	r := rand.New(rand.NewPCG(1, 2))
	var w [8]byte
	for n := 0; n < 200000; n++ {
		for i := range w {
			if r.IntN(2) == 0 {
				w[i] = interesting[r.IntN(len(interesting))]
			} else {
				w[i] = byte(r.IntN(256))
			}
		}
		first := -1
		for i, c := range w {
			if stop[c] {
				first = i
				break
			}
		}
		m := stopMask(binary.LittleEndian.Uint64(w[:]))
		if first < 0 {
			require.Zero(t, m, "%q", w)
			continue
		}
		require.NotZero(t, m, "%q", w)
		require.Equal(t, first, lowestByte(m), "%q", w)
	}
}

func lowestByte(m uint64) int {
	for i := 0; i < 8; i++ {
		if m&(0x80<<(8*i)) != 0 {
			return i
		}
	}
	return -1
}

func TestStrings(t *testing.T) {
	tests := []struct {
		in, want string
		err      ErrorKind
	}{
		{in: `"plain"`, want: "plain"},
		{in: `"exactly8"`, want: "exactly8"},
		{in: `"a longer string over sixteen bytes"`, want: "a longer string over sixteen bytes"},
		{in: `""`, want: ""},
		{in: `"ñandú — 😀 ok"`, want: "ñandú — 😀 ok"},
		{in: `"tab\tquote\"slash\/back\\u\u00e9nl\n"`, want: "tab\tquote\"slash/back\\ué" + "nl\n"},
		{in: `"\ud83d\ude97 pair, lone \ud83d and \ude97"`, want: "🚗 pair, lone \ufffd and \ufffd"},
		{in: `"\b\f\r"`, want: "\b\f\r"},
		{in: `"unterminated`, err: MalformedJSON},
		{in: `"bad \x escape"`, err: MalformedJSON},
		{in: `"bad \u12G4"`, err: MalformedJSON},
		{in: "\"ctl \x01\"", err: MalformedJSON},
		{in: "\"bad utf8 \xc3\x28 over eight\"", err: MalformedJSON},
		{in: "\"\xff\"", err: MalformedJSON},
		{in: `"ends in backslash\`, err: MalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var arena []byte
			s := scanner{b: []byte(tt.in)}
			got, err := s.str(&arena)
			v := scanner{b: []byte(tt.in)}
			verr := v.skip()
			if tt.err != 0 {
				assert.ErrorIs(t, err, tt.err)
				assert.ErrorIs(t, verr, tt.err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, verr)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, len(tt.in), s.i)
			assert.Equal(t, len(tt.in), v.i)
		})
	}
}

func TestSkip(t *testing.T) {
	for _, ok := range []string{`0`, `-1.5e+10`, `"x"`, `true`, `false`, `null`, `[]`, `{}`, `[1,[2,{"a":[]}],{"b":{"c":null}}]`, ` { "a" : [ 1 , 2 ] } `} {
		s := scanner{b: []byte(ok)}
		s.ws()
		require.NoError(t, s.skip(), ok)
		require.NoError(t, s.end(), ok)
	}
	for _, bad := range []string{``, `01`, `1.`, `-`, `1e`, `tru`, `[1,]`, `{"a"}`, `{"a":1,}`, `[1 2]`, `{1:2}`, `[`, `{"a":1`, `]`} {
		s := scanner{b: []byte(bad)}
		s.ws()
		err := s.skip()
		if err == nil {
			err = s.end()
		}
		assert.ErrorIs(t, err, MalformedJSON, bad)
	}
}
