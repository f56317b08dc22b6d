package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/bench/pipeline"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// stackState is what the suites on the local stack share: the Kafka and
// ClickHouse clients, the preloaded workload, and the consumer group and
// database of drivetrain's last catch-up (rebuild and the peers' checks
// use them).
type stackState struct {
	kafka *kgo.Client
	ch    *sinks.Client
	// workload is set once the topics hold it.
	workload *workload
	// refGroup and refDB are the group and database of drivetrain's
	// last catch-up, kept until the end of the run.
	refGroup, refDB string
	// drop lists the databases to drop when the run ends, groups the
	// consumer groups to delete.
	drop, groups []string
	// built has the Java peers built by this run.
	built map[string]bool
}

// workload describes the preloaded topics. It is stored as the last
// record of the marker topic <prefix>.bench.workload; topics whose
// marker and end offsets match are reused.
type workload struct {
	Customers  int    `json:"customers"`
	Vehicles   int    `json:"vehicles"`
	Orders     int    `json:"orders"`
	Partitions int    `json:"partitions"`
	Seed       uint64 `json:"seed"`
	// Records is the number of records in the five topics together.
	Records int64 `json:"records"`
}

// workloadFor sizes the preloaded workload of n records: a snapshot of
// about a third of them (a customer per 20 records, a vehicle per 100,
// an order with 1-3 items and an approved payment per 16), the rest the
// streaming mix of bench/pipeline.
func workloadFor(n int64) workload {
	return workload{
		Customers: int(max(100, n/20)), Vehicles: int(max(20, n/100)), Orders: int(max(10, n/16)),
		Partitions: 6, Seed: 1, Records: n,
	}
}

func (w workload) options() pipeline.Options {
	return pipeline.Options{Customers: w.Customers, Vehicles: w.Vehicles, Orders: w.Orders, Partitions: w.Partitions, Seed: w.Seed, SchemasOff: true}
}

func topicOf(prefix string, t topology.Table) string { return prefix + ".public." + t.String() }

func topicsOf(prefix string) []string {
	var out []string
	for _, t := range topology.Tables {
		out = append(out, topicOf(prefix, t))
	}
	return out
}

func markerTopic(prefix string) string { return prefix + ".bench.workload" }

// name returns a name for a consumer group, database or node of this
// run: the prefix, the purpose and a timestamp.
func (r *runner) name(purpose string) string {
	return fmt.Sprintf("%s_%s_%d", r.opts.TopicPrefix, purpose, time.Now().UnixMilli()%100_000_000)
}

// connect opens the clients on first use.
func (r *runner) connect(ctx context.Context) error {
	s := &r.stack
	if s.kafka == nil {
		cl, err := kgo.NewClient(kgo.SeedBrokers(r.opts.Kafka...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerBatchMaxBytes(4<<20), kgo.MaxBufferedRecords(100_000))
		if err != nil {
			return fmt.Errorf("connecting to Kafka: %w", err)
		}
		s.kafka = cl
		// The broker's version, as franz-go guesses it from the API
		// versions it supports.
		if vs, err := kadm.NewClient(cl).ApiVersions(ctx); err == nil {
			for _, v := range vs.Sorted() {
				if v.Err == nil {
					r.res.Machine.Versions["kafka broker"] = v.VersionGuess()
					break
				}
			}
		}
	}
	if s.ch == nil {
		cfg := sinks.Config{Addr: r.opts.ClickHouse, Database: r.opts.TopicPrefix + "_probe"}
		ch, err := sinks.Dial(ctx, cfg, r.log.Level(zerolog.WarnLevel))
		if err != nil {
			return fmt.Errorf("connecting to ClickHouse: %w", err)
		}
		s.ch = ch
		r.res.Machine.Versions["clickhouse"] = ch.ServerVersion().String()
	}
	return nil
}

// dropNow drops a database of the run at once (a DROP DATABASE takes a
// second or two on ClickHouse 18.16: done as they become useless, they do
// not pile up at the end).
func (r *runner) dropNow(ctx context.Context, db string) {
	s := &r.stack
	if i := slices.Index(s.drop, db); i >= 0 {
		s.drop = slices.Delete(s.drop, i, i+1)
	}
	if err := s.ch.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		r.log.Warn().Err(err).Str("database", db).Msg("dropping a benchmark database")
	}
}

func (s *stackState) close(progress io.Writer) {
	if s.ch != nil {
		if len(s.drop) > 0 {
			fmt.Fprintf(progress, "cleaning up: dropping %d ClickHouse databases\n", len(s.drop))
		}
		for _, db := range s.drop {
			_ = s.ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
		s.ch.Close()
	}
	if s.kafka != nil {
		if len(s.groups) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			deleteGroups(ctx, kadm.NewClient(s.kafka), s.groups...)
			cancel()
		}
		s.kafka.Close()
	}
}

// prepare makes sure the topics of opts.TopicPrefix hold the workload of
// opts.Events (see preload).
func (r *runner) prepare(ctx context.Context) (*workload, error) {
	if r.stack.workload != nil {
		return r.stack.workload, nil
	}
	want := workloadFor(r.opts.Events)
	if err := r.preload(ctx, r.opts.TopicPrefix, want); err != nil {
		return nil, err
	}
	r.stack.workload = &want
	return &want, nil
}

// preload makes sure the topics <prefix>.public.* hold the workload want:
// it reuses them when the marker and the end offsets say so, else deletes
// and writes them again.
func (r *runner) preload(ctx context.Context, prefix string, want workload) error {
	if err := r.connect(ctx); err != nil {
		return err
	}
	adm := kadm.NewClient(r.stack.kafka)
	if have, err := r.storedWorkload(ctx, adm, prefix); err == nil && have == want {
		fmt.Fprintf(r.opts.Progress, "workload: reusing the %s records of %s.public.*\n", count(want.Records), prefix)
		return nil
	}
	all := append(topicsOf(prefix), markerTopic(prefix))
	if _, err := adm.DeleteTopics(ctx, all...); err != nil {
		return fmt.Errorf("deleting old benchmark topics: %w", err)
	}
	// Topic deletion is asynchronous: creating again retries until the
	// broker has forgotten them.
	compact := "compact"
	for attempt := 0; ; attempt++ {
		resp, err := adm.CreateTopics(ctx, int32(want.Partitions), 1, map[string]*string{"cleanup.policy": &compact}, topicsOf(prefix)...)
		if err == nil {
			err = resp.Error()
		}
		if err == nil {
			break
		}
		if attempt == 60 {
			return fmt.Errorf("creating the benchmark topics: %w", err)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, markerTopic(prefix)); err != nil {
		return fmt.Errorf("creating %s: %w", markerTopic(prefix), err)
	}
	if err := r.produce(ctx, prefix, want); err != nil {
		return err
	}
	data, _ := json.Marshal(want)
	if err := r.stack.kafka.ProduceSync(ctx, &kgo.Record{Topic: markerTopic(prefix), Value: data}).FirstErr(); err != nil {
		return fmt.Errorf("writing the workload marker: %w", err)
	}
	return nil
}

// storedWorkload reads the marker and checks the topics' end offsets.
func (r *runner) storedWorkload(ctx context.Context, adm *kadm.Client, prefix string) (workload, error) {
	var w workload
	ends, err := adm.ListEndOffsets(ctx, append(topicsOf(prefix), markerTopic(prefix))...)
	if err != nil {
		return w, err
	}
	var records, marker int64
	var parts int
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			err = o.Err
		}
		if o.Topic == markerTopic(prefix) {
			marker = o.Offset
			return
		}
		records += o.Offset
		if o.Topic == topicOf(prefix, topology.TableOrders) {
			parts++
		}
	})
	if err != nil || marker == 0 {
		return w, errors.Join(err, errors.New("no marker"))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.opts.Kafka...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{markerTopic(prefix): {0: kgo.NewOffset().At(marker - 1)}}))
	if err != nil {
		return w, err
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fs := cl.PollFetches(fctx)
	if err := fs.Err(); err != nil {
		return w, err
	}
	recs := fs.Records()
	if len(recs) == 0 {
		return w, errors.New("empty marker")
	}
	if err := json.Unmarshal(recs[len(recs)-1].Value, &w); err != nil {
		return w, err
	}
	if w.Records != records || w.Partitions != parts {
		return workload{}, fmt.Errorf("topics hold %d records in %d partitions, the marker says %d in %d", records, parts, w.Records, w.Partitions)
	}
	return w, nil
}

// produce writes the workload into the topics, in the order of the
// generator (each partition's records in order).
func (r *runner) produce(ctx context.Context, prefix string, w workload) error {
	return r.produceRange(ctx, prefix, w, 0, w.Records)
}

// produceRange writes records [from, to) of the workload's stream (the
// first w.Records of which preload writes) into the topics.
func (r *runner) produceRange(ctx context.Context, prefix string, w workload, from, to int64) error {
	p := newProgress(r.opts.Progress, r.opts.Terminal, "workload: writing "+prefix+".public.*", to-from)
	var (
		mu       sync.Mutex
		firstErr error
		n        int64
	)
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	start := time.Now()
	var i int64
	err := pipeline.Records(w.options(), prefix, to, func(topic string, partition int32, key, value []byte) error {
		if i++; i <= from {
			return nil
		}
		if n%10_000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			mu.Lock()
			err := firstErr
			mu.Unlock()
			if err != nil {
				return err
			}
			p.update(n)
		}
		n++
		rec := &kgo.Record{Topic: topic, Partition: partition, Key: append([]byte(nil), key...), Value: append([]byte(nil), value...)}
		r.stack.kafka.Produce(ctx, rec, done)
		return nil
	})
	if ferr := r.stack.kafka.Flush(ctx); err == nil {
		err = ferr
	}
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return fmt.Errorf("writing the workload: %w", err)
	}
	p.done(fmt.Sprintf("%s records in %v", count(n), time.Since(start).Round(time.Millisecond)))
	return nil
}

// factColumns are the sales_facts columns that the peers' checks cover:
// every column but updated_at (the latest source timestamp among the
// joined rows, tombstones included: a detail of drivetrain's state that
// the peers do not keep), _version and _deleted (the view keeps live
// rows only).
func factColumns() []string {
	var out []string
	for _, c := range topology.FactColumns {
		if c != "updated_at" && c != "_version" && c != "_deleted" {
			out = append(out, c)
		}
	}
	return out
}

// factChecksum returns the count of sales_facts_current in db and a
// checksum over factColumns.
func (r *runner) factChecksum(ctx context.Context, db string) (int64, string, error) {
	var parts []string
	for _, c := range factColumns() {
		parts = append(parts, "toString("+c+")")
	}
	q := fmt.Sprintf("SELECT count(), toString(sum(cityHash64(%s))) FROM %s.sales_facts_current", strings.Join(parts, ", "), db)
	rows, err := r.stack.ch.Query(ctx, q, 2)
	if err != nil {
		return 0, "", fmt.Errorf("checksumming %s.sales_facts_current: %w", db, err)
	}
	if len(rows) != 1 {
		return 0, "", fmt.Errorf("checksumming %s.sales_facts_current: %d rows", db, len(rows))
	}
	var n int64
	fmt.Sscan(rows[0][0], &n)
	return n, rows[0][1], nil
}

// ensureSchema creates drivetrain's output tables in db.
func (r *runner) ensureSchema(ctx context.Context, db string) error {
	for _, stmt := range sinks.DDL(db, "", r.stack.ch.ServerVersion()) {
		if err := r.stack.ch.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("creating the tables of %s: %w", db, err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
