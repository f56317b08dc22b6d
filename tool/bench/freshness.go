package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	generator "github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/deploy"
	"github.com/drivetrain-cdc/drivetrain/tool/connect"
)

// runFreshness measures freshness through the real path: changes
// committed in PostgreSQL by the workload generator (bench/workload) at
// each rate of the ladder, captured by a Debezium connector of the
// suite's own (its own database <prefix>_fresh, slot and topics), and
// written by a drivetrain node into ClickHouse. For each rate it reports
// the rate the generator held, drivetrain's end-to-end freshness (source
// commit → ClickHouse acknowledgement: the node's
// drivetrain_freshness_seconds histogram over the window, interpolated
// within its buckets), and Debezium's share (source commit → the record
// received by a consumer of the topics, per record). The ladder stops
// after a rate the generator could not hold (below 90%): that is what
// the machine sustains.
func runFreshness(ctx context.Context, r *runner) error {
	if err := r.connect(ctx); err != nil {
		return err
	}
	name := r.opts.TopicPrefix + "_fresh"
	dsn, err := r.freshDatabase(ctx, name)
	if err != nil {
		return err
	}
	cc, err := connect.NewClient(r.opts.Connect)
	if err != nil {
		return err
	}
	var cf connect.File
	if err := json.Unmarshal(deploy.ConnectorJSON, &cf); err != nil {
		return fmt.Errorf("reading the connector config: %w", err)
	}
	// A connector (and slot) name of its own per run: Connect keeps the
	// offsets of a deleted connector under its name.
	slot := r.name("fresh")
	cf.Name = strings.ReplaceAll(slot, "_", "-")
	cf.Config["database.dbname"] = name
	cf.Config["topic.prefix"] = name
	cf.Config["slot.name"] = slot
	for k, v := range cf.Config {
		if strings.HasPrefix(k, "predicates.") && strings.HasSuffix(k, ".pattern") {
			cf.Config[k] = strings.Replace(v, "ecommerce", name, 1)
		}
	}
	defer r.dropConnector(cc, cf.Name, slot, name)
	var trace strings.Builder
	if err := connect.Register(ctx, io.Discard, &trace, cc, &cf, 2*time.Minute); err != nil {
		// The trace's last "Caused by" says why; all of it goes to a file.
		path := filepath.Join(r.opts.Out, cf.Name+"-trace.txt")
		_ = os.WriteFile(path, []byte(trace.String()), 0o644)
		cause := ""
		for _, l := range strings.Split(trace.String(), "\n") {
			if strings.Contains(l, "Exception: ") {
				cause = strings.TrimSpace(l)
			}
		}
		return fmt.Errorf("%w: %s (trace in %s)", err, cause, path)
	}
	// The catalogue and a first minute of changes, before the node starts.
	gen, err := generator.Open(ctx, dsn, r.log)
	if err != nil {
		return err
	}
	defer gen.Close()
	scale := 5_000
	if r.opts.Quick {
		scale = 1_000
	}
	if _, err := gen.Run(ctx, generator.Options{Scale: scale, Changes: 1_000, Rate: 0, Workers: 4}); err != nil {
		return fmt.Errorf("seeding %s: %w", name, err)
	}
	// The ClickHouse database has a name of its own per run: 18.16 can
	// leave a dropped table's parts behind, and then refuses to create the
	// table again under its name.
	db := r.name("fresh")
	node, err := r.startNode(ctx, name, name, db, "", "DRIVETRAIN_TOPIC_PREFIX="+name)
	if err != nil {
		return err
	}
	r.stack.drop, r.stack.groups = append(r.stack.drop, db), append(r.stack.groups, name)
	defer node.stop(false)
	if _, err := r.waitIdle(ctx, node, "freshness: the node catches up with the seed", 1, time.Now()); err != nil {
		return err
	}
	window := time.Minute
	if r.opts.Quick {
		window = 15 * time.Second
	}
	for _, rate := range r.opts.Rates {
		var runs []freshnessRun
		_, err := r.repeat(ctx, fmt.Sprintf("freshness at %g/s", rate), func(ctx context.Context, run int) (sample, error) {
			fr, err := r.freshnessAt(ctx, gen, node, name, rate, window, run)
			if err == nil {
				runs = append(runs, fr)
			}
			return sample{}, err
		})
		if len(runs) > 0 {
			r.addFreshness(rate, runs)
		}
		if err != nil {
			r.fail("freshness", fmt.Sprintf("drivetrain at %g/s", rate), err)
			continue
		}
		// The ladder stops where the source no longer keeps up: higher
		// rates would measure the same saturation.
		held := make([]float64, len(runs))
		for i, fr := range runs {
			held[i] = fr.held
		}
		if m, _, _ := summarize(held); m < 0.9*rate {
			fmt.Fprintf(r.opts.Progress, "freshness: the workload held %s of %s changes/s: the ladder stops here\n", num(m), num(rate))
			break
		}
	}
	return nil
}

// freshnessRun is what one window at one rate measured.
type freshnessRun struct {
	held    float64
	changes int64
	h       histogram
	lag     []float64 // sorted, ms
}

// addFreshness records the figures of a rate's runs, and the
// distributions of its last run.
func (r *runner) addFreshness(rate float64, runs []freshnessRun) {
	add := func(system, name, unit string, higher bool, value func(freshnessRun) (float64, int64)) {
		var ss []sample
		for _, fr := range runs {
			v, n := value(fr)
			ss = append(ss, sample{value: v, events: n})
		}
		f := figureOf("freshness", system, name, unit, higher, ss)
		f.Rate = rate
		r.add(f)
	}
	add("drivetrain", "rate held", "changes/s", true, func(fr freshnessRun) (float64, int64) { return fr.held, fr.changes })
	for _, q := range []float64{0.5, 0.9, 0.99} {
		add("drivetrain", fmt.Sprintf("freshness p%g", q*100), "ms", false, func(fr freshnessRun) (float64, int64) {
			return fr.h.quantile(q) * 1000, int64(fr.h.count())
		})
	}
	for _, q := range []float64{0.5, 0.99} {
		add("debezium", fmt.Sprintf("freshness p%g", q*100), "ms", false, func(fr freshnessRun) (float64, int64) {
			return quantileOf(fr.lag, q), int64(len(fr.lag))
		})
	}
	last := runs[len(runs)-1]
	r.res.Distributions = append(r.res.Distributions, last.h.distribution(rate), cdfOf("debezium", last.lag, rate))
}

// freshDatabase creates the PostgreSQL database name (schema included)
// when missing and returns its DSN.
func (r *runner) freshDatabase(ctx context.Context, name string) (string, error) {
	u, err := url.Parse(r.opts.PostgresDSN)
	if err != nil {
		return "", errors.New("parsing the PostgreSQL DSN: malformed")
	}
	conn, err := pgx.Connect(ctx, r.opts.PostgresDSN)
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	conn.Close(ctx)
	if err != nil {
		return "", fmt.Errorf("creating PostgreSQL database %s: %w", name, err)
	}
	u.Path = "/" + name
	dsn := u.String()
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, deploy.SchemaSQL); err != nil {
		return "", fmt.Errorf("creating the schema in %s: %w", name, err)
	}
	return dsn, nil
}

// dropConnector deletes the suite's connector (stopped first, and its
// offsets with it), its replication slot (which would otherwise hold
// WAL), database and topics.
func (r *runner) dropConnector(cc *connect.Client, connector, slot, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cc.Do(ctx, http.MethodPut, "/connectors/"+connector+"/stop", nil, nil) == nil {
		for range 20 {
			if cc.Do(ctx, http.MethodDelete, "/connectors/"+connector+"/offsets", nil, nil) == nil || sleep(ctx, 500*time.Millisecond) != nil {
				break
			}
		}
	}
	_ = cc.Delete(ctx, connector)
	conn, err := pgx.Connect(ctx, r.opts.PostgresDSN)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	// The slot stays active for a moment after the task stops.
	for range 30 {
		_, err = conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
		if err == nil {
			break
		}
		if sleep(ctx, time.Second) != nil {
			return
		}
	}
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	r.deleteTopics(name + ".")
}

// freshnessAt runs the generator at rate for window and measures.
func (r *runner) freshnessAt(ctx context.Context, gen *generator.Generator, node *node, prefix string, rate float64, window time.Duration, run int) (freshnessRun, error) {
	before, err := node.freshnessHistogram(ctx)
	if err != nil {
		return freshnessRun{}, err
	}
	lagCtx, stopLag := context.WithCancel(ctx)
	lag := &debeziumLag{}
	lagDone := make(chan error, 1)
	go func() { lagDone <- r.watchDebezium(lagCtx, prefix, lag) }()
	label := fmt.Sprintf("freshness at %s/s, run %d", num(rate), run+1)
	p := newProgress(r.opts.Progress, r.opts.Terminal, label+" (seconds)", int64(window.Seconds()))
	start := time.Now()
	tick := time.NewTicker(time.Second)
	genDone := make(chan error, 1)
	var rep *generator.Report
	go func() {
		var err error
		rep, err = gen.Run(ctx, generator.Options{Rate: rate, Duration: window, Workers: 4, Seed: uint64(rate)*10 + uint64(run)})
		genDone <- err
	}()
wait:
	for {
		select {
		case err := <-genDone:
			tick.Stop()
			if err != nil {
				stopLag()
				<-lagDone
				return freshnessRun{}, fmt.Errorf("generating: %w", err)
			}
			break wait
		case <-tick.C:
			p.update(int64(time.Since(start).Seconds()))
		}
	}
	// Stragglers: wait until the node is idle again.
	if _, err := r.waitIdle(ctx, node, label+": draining", 1, time.Now()); err != nil {
		stopLag()
		<-lagDone
		return freshnessRun{}, err
	}
	stopLag()
	<-lagDone
	after, err := node.freshnessHistogram(ctx)
	if err != nil {
		return freshnessRun{}, err
	}
	fr := freshnessRun{held: rep.Rate, changes: rep.Changes, h: after.sub(before), lag: lag.sorted()}
	p.done(fmt.Sprintf("held %s changes/s; %s changes measured end to end, %s by Debezium", num(fr.held), count(int64(fr.h.count())), count(int64(len(fr.lag)))))
	return fr, nil
}

// histogram is a cumulative Prometheus histogram: counts[i] observations
// at or below bounds[i] (seconds); the last bound is +Inf.
type histogram struct {
	bounds []float64
	counts []float64
}

func (h histogram) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

func (h histogram) sub(o histogram) histogram {
	out := histogram{bounds: h.bounds, counts: append([]float64(nil), h.counts...)}
	if len(o.counts) == len(h.counts) {
		for i := range out.counts {
			out.counts[i] -= o.counts[i]
		}
	}
	return out
}

// quantile interpolates linearly within the bucket holding q (seconds).
func (h histogram) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := q * n
	lo, prev := 0.0, 0.0
	for i, c := range h.counts {
		if c >= rank {
			hi := h.bounds[i]
			if math.IsInf(hi, 1) {
				return lo
			}
			if c == prev {
				return hi
			}
			return lo + (hi-lo)*(rank-prev)/(c-prev)
		}
		lo, prev = h.bounds[i], c
	}
	return lo
}

// distribution is the histogram as a CDF at its bucket bounds (ms).
func (h histogram) distribution(rate float64) Distribution {
	d := Distribution{Suite: "freshness", System: "drivetrain", Name: "end to end", Rate: rate, Unit: "ms", Samples: int64(h.count())}
	n := h.count()
	for i, b := range h.bounds {
		if math.IsInf(b, 1) || n == 0 {
			continue
		}
		d.Q = append(d.Q, h.counts[i]/n)
		d.Values = append(d.Values, b*1000)
		if h.counts[i] == n {
			break // the buckets above hold nothing more
		}
	}
	return d
}

// freshnessHistogram reads drivetrain_freshness_seconds from the node's
// /metrics, summed over its labels.
func (n *node) freshnessHistogram(ctx context.Context) (histogram, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histogram{}, fmt.Errorf("reading the node's metrics: %w", err)
	}
	defer resp.Body.Close()
	byBound := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "drivetrain_freshness_seconds_bucket{") {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < 0 {
			continue
		}
		le := line[i+4:]
		le = le[:strings.IndexByte(le, '"')]
		b, err1 := strconv.ParseFloat(le, 64)
		v, err2 := strconv.ParseFloat(line[j+1:], 64)
		if err1 == nil && err2 == nil {
			byBound[b] += v
		}
	}
	var h histogram
	for b := range byBound {
		h.bounds = append(h.bounds, b)
	}
	sort.Float64s(h.bounds)
	for _, b := range h.bounds {
		h.counts = append(h.counts, byBound[b])
	}
	if len(h.bounds) == 0 {
		return h, errors.New("the node's /metrics has no drivetrain_freshness_seconds histogram")
	}
	return h, sc.Err()
}

// debeziumLag collects, per record, source commit → received (ms).
type debeziumLag struct {
	mu sync.Mutex
	ms []float64
}

func (l *debeziumLag) sorted() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]float64(nil), l.ms...)
	sort.Float64s(out)
	return out
}

// watchDebezium reads the five topics from their end offsets until ctx
// ends, recording each change's time from its source commit
// (source.ts_us) to its arrival here.
func (r *runner) watchDebezium(ctx context.Context, prefix string, lag *debeziumLag) error {
	var topics []string
	for _, t := range []string{"customers", "vehicles", "orders", "order_items", "payments"} {
		topics = append(topics, prefix+".public."+t)
	}
	ends, err := kadm.NewClient(r.stack.kafka).ListEndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	offsets := map[string]map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if offsets[o.Topic] == nil {
			offsets[o.Topic] = map[int32]kgo.Offset{}
		}
		offsets[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.opts.Kafka...), kgo.ConsumePartitions(offsets), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	var v struct {
		Payload *struct {
			Source struct {
				TsUs int64 `json:"ts_us"`
			} `json:"source"`
		} `json:"payload"`
		Source struct {
			TsUs int64 `json:"ts_us"`
		} `json:"source"`
	}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Value == nil {
				return
			}
			v.Payload = nil
			v.Source.TsUs = 0
			if json.Unmarshal(rec.Value, &v) != nil {
				return
			}
			ts := v.Source.TsUs
			if v.Payload != nil {
				ts = v.Payload.Source.TsUs
			}
			if ts == 0 {
				return
			}
			lag.mu.Lock()
			lag.ms = append(lag.ms, float64(now.UnixMicro()-ts)/1000)
			lag.mu.Unlock()
		})
	}
}

// quantileOf returns the q quantile of sorted values (0 when empty).
func quantileOf(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// cdfOf samples the CDF of sorted values at 100 points.
func cdfOf(system string, sorted []float64, rate float64) Distribution {
	d := Distribution{Suite: "freshness", System: system, Name: "source commit to consumer", Rate: rate, Unit: "ms", Samples: int64(len(sorted))}
	if len(sorted) == 0 {
		return d
	}
	for i := 1; i <= 100; i++ {
		q := float64(i) / 100
		d.Q = append(d.Q, q)
		d.Values = append(d.Values, quantileOf(sorted, q))
	}
	return d
}
