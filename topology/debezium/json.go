package debezium

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// AppendJSON appends ch as one JSON object, the rendering of `drivetrain
// inspect` and of the golden files:
//
//	{"topic","table","op","snapshot","lsn","tx_id","source_ts_ms","key","before","after","unchanged"}
//
// In rows, integers are numbers, decimals strings with exactly their scale
// ("39.98"), timestamps RFC 3339 strings with nanoseconds in UTC, dates
// YYYY-MM-DD, JSON columns embedded as JSON, NULL null; unchanged (TOAST
// placeholder) columns are left out of the row and listed, in table order,
// in "unchanged" (of both images). snapshot is null when absent. A
// tombstone is {"topic","tombstone":true,"key"}; a skipped record
// (heartbeat, transaction, message) is {"topic","skipped":"<kind>"}.
func (ch *Change) AppendJSON(b []byte) []byte {
	b = append(b, `{"topic":`...)
	b = appendString(b, ch.Topic)
	switch ch.Kind {
	case KindTombstone:
		b = append(b, `,"tombstone":true,"key":`...)
		b = appendOptInt(b, ch.Key)
		return append(b, '}')
	case KindHeartbeat, KindTransaction, KindMessage:
		b = append(b, `,"skipped":`...)
		b = appendString(b, ch.Kind.String())
		return append(b, '}')
	}
	b = append(b, `,"table":`...)
	b = appendString(b, ch.Table.String())
	b = append(b, `,"op":`...)
	b = appendString(b, ch.Op.String())
	b = append(b, `,"snapshot":`...)
	if ch.Snapshot == SnapshotNone {
		b = append(b, "null"...)
	} else {
		b = appendString(b, ch.Snapshot.String())
	}
	b = append(b, `,"lsn":`...)
	b = appendOptInt(b, ch.LSN)
	b = append(b, `,"tx_id":`...)
	b = appendOptInt(b, ch.TxID)
	b = append(b, `,"source_ts_ms":`...)
	b = strconv.AppendInt(b, ch.SourceTsMs, 10)
	b = append(b, `,"key":`...)
	b = appendOptInt(b, ch.Key)
	b = append(b, `,"before":`...)
	b = ch.Before.appendJSON(b, ch.Table)
	b = append(b, `,"after":`...)
	b = ch.After.appendJSON(b, ch.Table)
	b = append(b, `,"unchanged":[`...)
	var unchanged topology.ColumnSet
	if ch.Before.Valid {
		unchanged |= ch.Before.Unchanged
	}
	if ch.After.Valid {
		unchanged |= ch.After.Unchanged
	}
	first := true
	for i, col := range ch.Table.Columns() {
		if unchanged.Has(i) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, col.Name)
		}
	}
	return append(b, "]}"...)
}

func appendOptInt(b []byte, v topology.Opt[int64]) []byte {
	if !v.Valid {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, v.V, 10)
}

// appendJSON appends the row of table t as an object in column order.
func (img *Image) appendJSON(b []byte, t topology.Table) []byte {
	if !img.Valid {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	var c cell
	for i, col := range t.Columns() {
		if img.Unchanged.Has(i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, col.Name)
		b = append(b, ':')
		img.get(t, i, &c)
		if c.null {
			b = append(b, "null"...)
			continue
		}
		switch col.Type {
		case topology.TypeSmallint, topology.TypeInteger, topology.TypeBigint:
			b = strconv.AppendInt(b, c.i, 10)
		case topology.TypeText:
			b = appendString(b, c.s)
		case topology.TypeJSONB:
			b = append(b, c.s...)
		case topology.TypeNumeric:
			b = append(b, '"')
			b = c.d.AppendText(b)
			b = append(b, '"')
		case topology.TypeDate:
			b = append(b, '"')
			b = topology.Date(c.i).Time().AppendFormat(b, time.DateOnly)
			b = append(b, '"')
		case topology.TypeTimestamptz:
			b = append(b, '"')
			b = topology.Timestamp(c.i).Time().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
