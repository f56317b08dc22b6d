package sinks

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The native transport cannot be tried on the local ClickHouse (18.16 is
// too old for ch-go), so these tests run it against fakeNative: just
// enough of a server to answer ch-go's handshake and INSERTs (header
// block, data blocks, end of stream or an exception) and to decode what
// the client sent with ch-go's own decoders.

// fakeRevision is the protocol revision the fake speaks: the oldest that
// Dial accepts.
const fakeRevision = 54429

type fakeInsert struct {
	query  string
	values map[string][]any
	rows   int
}

type fakeNative struct {
	t        *testing.T
	ln       net.Listener
	revision int
	header   proto.Input // the table's columns, announced to INSERTs

	mu      sync.Mutex
	fail    []proto.Error // exceptions for the next INSERTs, in order
	inserts []fakeInsert
	conns   int
}

func newFakeNative(t *testing.T, revision int, header proto.Input) *fakeNative {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeNative{t: t, ln: ln, revision: revision, header: header}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				if err := f.serve(conn); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					t.Errorf("fake server: %v", err)
				}
			}()
		}
	}()
	return f
}

func (f *fakeNative) addr() string { return "clickhouse://" + f.ln.Addr().String() }

func (f *fakeNative) failNext(codes ...proto.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, codes...)
}

func (f *fakeNative) received() []fakeInsert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeInsert(nil), f.inserts...)
}

func (f *fakeNative) serve(conn net.Conn) error {
	r := proto.NewReader(conn)
	buf := new(proto.Buffer)
	send := func() error {
		_, err := conn.Write(buf.Buf)
		buf.Reset()
		return err
	}
	if code, err := r.UVarInt(); err != nil || proto.ClientCode(code) != proto.ClientCodeHello {
		return errors.Join(errors.New("want hello"), err)
	}
	var hello proto.ClientHello
	if err := hello.Decode(r); err != nil {
		return err
	}
	ver := min(hello.ProtocolVersion, f.revision)
	info := proto.ServerHello{Name: "ClickHouse", Major: 24, Minor: 8, Patch: 4, Revision: f.revision, Timezone: "UTC", DisplayName: "fake"}
	info.EncodeAware(buf, ver)
	if err := send(); err != nil {
		return err
	}
	readData := func(target proto.Result) (proto.Block, error) {
		var blk proto.Block
		code, err := r.UVarInt()
		if err != nil {
			return blk, err
		}
		if proto.ClientCode(code) != proto.ClientCodeData {
			return blk, errors.New("want a data packet")
		}
		var data proto.ClientData
		if err := data.DecodeAware(r, ver); err != nil {
			return blk, err
		}
		return blk, blk.DecodeBlock(r, ver, target)
	}
	for {
		code, err := r.UVarInt()
		if err != nil {
			return err
		}
		switch proto.ClientCode(code) {
		case proto.ClientCodePing:
			proto.ServerCodePong.Encode(buf)
		case proto.ClientCodeQuery:
			var q proto.Query
			if err := q.DecodeAware(r, ver); err != nil {
				return err
			}
			if _, err := readData(nil); err != nil { // external tables: none
				return err
			}
			if strings.HasPrefix(q.Body, "INSERT") {
				proto.ServerCodeData.Encode(buf)
				buf.PutString("") // temporary table name
				if err := (proto.Block{Columns: len(f.header)}).EncodeBlock(buf, ver, f.header); err != nil {
					return err
				}
				if err := send(); err != nil {
					return err
				}
				var res proto.Results
				in := fakeInsert{query: q.Body, values: map[string][]any{}}
				for {
					blk, err := readData(res.Auto())
					if err != nil {
						return err
					}
					if blk.End() {
						break
					}
					in.rows += blk.Rows
				}
				for _, c := range res {
					row := reflect.ValueOf(c.Data).MethodByName("Row")
					for i := 0; i < c.Data.Rows(); i++ {
						in.values[c.Name] = append(in.values[c.Name], row.Call([]reflect.Value{reflect.ValueOf(i)})[0].Interface())
					}
				}
				f.mu.Lock()
				f.inserts = append(f.inserts, in)
				var fail proto.Error
				if len(f.fail) > 0 {
					fail, f.fail = f.fail[0], f.fail[1:]
				}
				f.mu.Unlock()
				if fail != 0 {
					proto.ServerCodeException.Encode(buf)
					(&proto.Exception{Code: fail, Name: "DB::Exception", Message: "DB::Exception: " + fail.String()}).EncodeAware(buf, ver)
					break
				}
			}
			proto.ServerCodeEndOfStream.Encode(buf)
		default:
			return errors.New("unexpected client packet")
		}
		if err := send(); err != nil {
			return err
		}
	}
}

// nativeSchema dials f and returns a Schema for one table, as EnsureSchema
// would have checked it (the fake answers no SELECTs).
func nativeSchema(t *testing.T, f *fakeNative, o output, l layout) *Schema {
	t.Helper()
	c, err := Dial(context.Background(), Config{Addr: f.addr(), Database: "dt",
		Retry: RetryConfig{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	assert.Equal(t, Version{24, 8, 4}, c.ServerVersion())
	return &Schema{c: c, tables: map[output]*TableInfo{o: {Name: c.n.qualified(o.baseName()), Columns: o.columns(l), layout: l}}}
}

func TestNativeInsertFacts(t *testing.T) {
	f := newFakeNative(t, fakeRevision, newFactBlock().input)
	s := nativeSchema(t, f, outFacts, modernLayout)
	w := s.FactWriter()
	ctx := context.Background()
	facts := sampleFacts()
	require.NoError(t, w.Write(ctx, facts))
	require.NoError(t, w.Write(ctx, facts[:1]))

	got := f.received()
	require.Len(t, got, 2)
	assert.Equal(t, "INSERT INTO dt.sales_facts ("+strings.Join(topology.FactColumns, ", ")+") VALUES", got[0].query)
	assert.Equal(t, 2, got[0].rows)
	assert.Equal(t, 1, got[1].rows)
	want := map[string][]any{
		"order_item_id": {int64(101), int64(-1)},
		"order_date":    {utc("2024-03-05T10:11:12Z"), time.Unix(0, 0).UTC()},
		"customer_name": {"Zoë Ångström", "tab\there\nnewline 'quote' \\ 日本"},
		"order_total":   {proto.Decimal64(999999999999999999), proto.Decimal64(0)},
		"unit_price":    {proto.Decimal64(1899950), proto.Decimal64(-101)},
		"_deleted":      {uint8(1), uint8(0)},
	}
	for name, vals := range want {
		assert.Equal(t, vals, got[0].values[name], "column %s", name)
	}
	assert.Equal(t, []any{int64(101)}, got[1].values["order_item_id"])
	f.mu.Lock()
	assert.Equal(t, 1, f.conns, "the connection is pooled")
	f.mu.Unlock()
}

func TestNativeInsertMirror(t *testing.T) {
	f := newFakeNative(t, fakeRevision, newMirrorBlock(topology.TableCustomers, modernLayout).input)
	s := nativeSchema(t, f, output(topology.TableCustomers), modernLayout)
	require.NoError(t, s.MirrorWriter(topology.TableCustomers).Write(context.Background(), sampleMirrors()))
	got := f.received()
	require.Len(t, got, 1)
	assert.Equal(t, []any{
		proto.Nullable[time.Time]{Set: true, Value: utc("1950-11-02T00:00:00Z")},
		proto.Nullable[time.Time]{Set: true, Value: utc("2022-01-08T00:00:00Z")},
		proto.Nullable[time.Time]{Value: time.Unix(0, 0).UTC()},
	}, got[0].values["birth_date"])
	assert.Equal(t, []any{utc("2023-01-02T03:04:05.123456Z"), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()}, got[0].values["created_at"])
	assert.Equal(t, []any{proto.Nullable[string]{Set: true, Value: "+34 600"}, proto.Nullable[string]{}, proto.Nullable[string]{}}, got[0].values["phone"])
}

func TestNativeRetriesTransientErrors(t *testing.T) {
	f := newFakeNative(t, fakeRevision, newFactBlock().input)
	s := nativeSchema(t, f, outFacts, modernLayout)
	f.failNext(proto.ErrTooManyParts, proto.ErrMemoryLimitExceeded)
	require.NoError(t, s.FactWriter().Write(context.Background(), sampleFacts()))
	got := f.received()
	require.Len(t, got, 3, "two failed attempts, then success")
	for _, in := range got {
		assert.Equal(t, 2, in.rows, "every attempt sends the whole block")
	}
	f.mu.Lock()
	assert.Equal(t, 1, f.conns, "a server exception leaves the connection usable")
	f.mu.Unlock()
}

func TestNativePermanentError(t *testing.T) {
	f := newFakeNative(t, fakeRevision, newFactBlock().input)
	s := nativeSchema(t, f, outFacts, modernLayout)
	f.failNext(proto.ErrUnknownTable)
	err := s.FactWriter().Write(context.Background(), sampleFacts())
	require.Error(t, err)
	assert.False(t, IsRetryable(err))
	assert.Contains(t, err.Error(), "writing 2 rows to dt.sales_facts")
	assert.Contains(t, err.Error(), "UNKNOWN_TABLE")
	assert.Len(t, f.received(), 1, "no retry")
}

func TestNativeRejectsOldServer(t *testing.T) {
	f := newFakeNative(t, 54412, nil) // ClickHouse 18.16's revision
	_, err := Dial(context.Background(), Config{Addr: f.addr()}, zerolog.Nop())
	require.ErrorIs(t, err, ErrUnsupportedServer)
	assert.False(t, IsRetryable(err))
	assert.Contains(t, err.Error(), "use the HTTP interface")
}
