//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// stackEnv returns the local stack's addresses from the environment, or
// skips the test when they are not set (docs/design.md, Tests).
func stackEnv(t *testing.T) (pg, kafka, connect string) {
	t.Helper()
	pg, kafka, connect = os.Getenv("DRIVETRAIN_POSTGRES_DSN"), os.Getenv("DRIVETRAIN_KAFKA_BROKERS"), os.Getenv("DRIVETRAIN_CONNECT_URL")
	if pg == "" || kafka == "" || connect == "" {
		t.Skip("DRIVETRAIN_POSTGRES_DSN, DRIVETRAIN_KAFKA_BROKERS and DRIVETRAIN_CONNECT_URL are not all set; run `make stack-up && source .stack/env` (make test does it)")
	}
	return pg, kafka, connect
}

// envelopeOf is the part of a Debezium value this test reads, with or
// without the schema envelope.
type envelopeOf struct {
	Op     string `json:"op"`
	Source struct {
		TxID *uint64 `json:"txId"`
	} `json:"source"`
	Before map[string]json.RawMessage `json:"before"`
	After  map[string]json.RawMessage `json:"after"`
}

func parseEnvelope(value []byte) (*envelopeOf, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(value, &outer); err != nil {
		return nil, err
	}
	body := value
	if p, ok := outer["payload"]; ok && len(outer) == 2 {
		body = p
	}
	var e envelopeOf
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// orderIDOf returns the order id a record of an order-stream table belongs
// to: orders.id, or order_id of items and payments, from after (before for
// deletes).
func orderIDOf(table topology.Table, e *envelopeOf) (int64, error) {
	row := e.After
	if e.Op == "d" {
		row = e.Before
	}
	col := "order_id"
	if table == topology.TableOrders {
		col = "id"
	}
	raw, ok := row[col]
	if !ok {
		return 0, fmt.Errorf("no %s in the %s row", col, table)
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

var opName = map[string]string{"c": "insert", "u": "update", "d": "delete"}

// TestIntegrationStackCarriesEveryChange is the foundation's proof that the
// stack is real: every change the generator commits reaches Kafka as one
// Debezium event (counted by table and operation), and the records of one
// order sit on the same partition number of orders, order_items and payments.
func TestIntegrationStackCarriesEveryChange(t *testing.T) {
	pgDSN, brokers, _ := stackEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	stdout, stderr, code := runCLI(t, "connector", "register")
	require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)
	waitSlotActive(ctx, t, pgDSN, "drivetrain")

	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	rep, err := gen.Run(ctx, workload.Options{Changes: 3000, Seed: uint64(time.Now().UnixNano()), Scale: 300})
	require.NoError(t, err)
	require.False(t, rep.Interrupted)
	t.Logf("generator: %d mix changes in %d transactions (seed %d), start xid %d", rep.Changes, rep.Transactions, rep.Seed, rep.StartXID)

	want := map[string]map[string]int64{}
	for _, tbl := range topology.Tables {
		c := rep.Counts[tbl.String()]
		want[tbl.String()] = map[string]int64{"insert": c.Insert, "update": c.Update, "delete": c.Delete}
	}
	require.Positive(t, want["orders"]["delete"], "the mix must include order deletions")
	require.Positive(t, want["payments"]["update"], "the mix must include payment updates")

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topicsOf("ecommerce")...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)

	got := map[string]map[string]int64{}
	for _, tbl := range topology.Tables {
		got[tbl.String()] = map[string]int64{"insert": 0, "update": 0, "delete": 0}
	}
	partitions := map[string]int32{}
	wrongPartition := 0
	consumed := map[string]map[int32]int64{} // next offset to read per topic partition

	equal := func() bool {
		for tbl, ops := range want {
			for op, n := range ops {
				if got[tbl][op] != n {
					return false
				}
			}
		}
		return true
	}
	// caughtUp reports whether everything up to the current end offsets has
	// been read.
	caughtUp := func() bool {
		ends, err := adm.ListEndOffsets(ctx, topicsOf("ecommerce")...)
		require.NoError(t, err)
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			require.NoError(t, o.Err)
			if o.Offset > 0 && consumed[o.Topic][o.Partition] < o.Offset {
				done = false
			}
		})
		return done
	}

	for !(equal() && caughtUp()) {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fetches := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for the generator's changes in Kafka:\nwant %v\ngot  %v", want, got)
		}
		for _, fe := range fetches.Errors() {
			if fe.Err != context.DeadlineExceeded && fe.Err != context.Canceled {
				t.Fatalf("fetching %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
			}
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if consumed[r.Topic] == nil {
				consumed[r.Topic] = map[int32]int64{}
			}
			consumed[r.Topic][r.Partition] = r.Offset + 1
			if r.Value == nil {
				return // tombstone
			}
			e, err := parseEnvelope(r.Value)
			require.NoError(t, err, "%s[%d]@%d", r.Topic, r.Partition, r.Offset)
			op, counted := opName[e.Op]
			if !counted || e.Source.TxID == nil || *e.Source.TxID <= rep.StartXID {
				return // snapshot reads and changes of earlier runs
			}
			tbl := topology.TableNamed(r.Topic[len("ecommerce.public."):])
			got[tbl.String()][op]++
			if tbl.Global() {
				return
			}
			orderID, err := orderIDOf(tbl, e)
			require.NoError(t, err, "%s[%d]@%d", r.Topic, r.Partition, r.Offset)
			key := strconv.FormatInt(orderID, 10)
			if p, ok := partitions[key]; ok && p != r.Partition {
				wrongPartition++
				if wrongPartition <= 5 {
					t.Errorf("order %d: %s record on partition %d, an earlier record of the order on partition %d", orderID, tbl, r.Partition, p)
				}
			}
			partitions[key] = r.Partition
			if wantP := topology.OrderPartition(orderID, 6); r.Partition != wantP {
				t.Errorf("order %d: %s record on partition %d, PartitionRouting (java hash) gives %d", orderID, tbl, r.Partition, wantP)
			}
		})
		for tbl, ops := range got {
			for op, n := range ops {
				if n > want[tbl][op] {
					t.Fatalf("more %s %s events in Kafka than the generator committed: %d > %d", tbl, op, n, want[tbl][op])
				}
			}
		}
	}
	assert.Equal(t, want, got)
	assert.Zero(t, wrongPartition)
	t.Logf("every change arrived: %v; %d orders checked for co-partitioning", got, len(partitions))
}

func topicsOf(prefix string) []string {
	var out []string
	for _, t := range topology.Tables {
		out = append(out, prefix+".public."+t.String())
	}
	return out
}

// waitSlotActive waits until Debezium's replication slot exists and is in
// use, so changes committed afterwards are streamed (not snapshotted).
func waitSlotActive(ctx context.Context, t *testing.T, dsn, slot string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var active bool
		err := conn.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&active)
		if err == nil && active {
			return
		}
		if err != nil && err != pgx.ErrNoRows {
			t.Fatalf("reading pg_replication_slots: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("replication slot %s not active after 2 minutes", slot)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestIntegrationHealth checks `drivetrain health` on the real stack: all ✓
// once the connector runs, and a ✗ with its fix and a non-zero status when a
// check fails.
func TestIntegrationHealth(t *testing.T) {
	stackEnv(t)
	if os.Getenv("DRIVETRAIN_CLICKHOUSE_URL") == "" {
		t.Skip("DRIVETRAIN_CLICKHOUSE_URL is not set; source .stack/env")
	}
	stdout, stderr, code := runCLI(t, "connector", "register")
	require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)

	stdout, stderr, code = runCLI(t, "health")
	require.Zero(t, code, "health:\n%s%s", stdout, stderr)
	assert.NotContains(t, stdout, "✗")
	assert.GreaterOrEqual(t, countPrefix(stdout, "✓ "), 12, stdout)

	stdout, _, code = runCLI(t, "health", "--topic-prefix", "nosuchprefix")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "✗ Kafka topics: missing: nosuchprefix.public.customers")
	assert.Contains(t, stdout, "fix: register the connector")
}

func countPrefix(s, prefix string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}
