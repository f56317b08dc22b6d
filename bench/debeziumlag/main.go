package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "debeziumlag:", err)
		os.Exit(1)
	}
}

func run() error {
	brokers := flag.String("kafka", envOr("DRIVETRAIN_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers, comma-separated")
	prefix := flag.String("topic-prefix", "ecommerce", "Debezium topic prefix (topics are <prefix>.public.<table>)")
	duration := flag.Duration("duration", time.Minute, "measure the changes committed during this long from the start, warm-up included")
	warmup := flag.Duration("warmup", 10*time.Second, "leave out changes committed during this first part of --duration")
	node := flag.String("node", "", "a drivetrain node's http_addr URL (e.g. http://127.0.0.1:18090): also report its end-to-end freshness over the same window")
	quiet := flag.Duration("quiet", 3*time.Second, "after --duration, keep reading late events until none arrived for this long")
	maxDrain := flag.Duration("max-drain", time.Minute, "after --duration, read late events at most this long")
	every := flag.Duration("every", 10*time.Second, "print a progress line this often (0: never)")
	flag.Parse()
	if *warmup < 0 || *warmup >= *duration {
		return fmt.Errorf("--warmup must be at least 0 and below --duration (got %s of %s)", *warmup, *duration)
	}
	var topics []string
	for _, t := range []string{"customers", "vehicles", "orders", "order_items", "payments"} {
		topics = append(topics, *prefix+".public."+t)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(time.Second))
	if err != nil {
		return fmt.Errorf("creating the Kafka client: %w", err)
	}
	defer cl.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	measureFrom, measureTo := start.Add(*warmup), start.Add(*duration)

	var before nodeSample
	sampled := *node == ""
	var all, window lags
	nextReport := start.Add(*every)
	// Changes committed in [measureFrom, measureTo) are measured. After
	// measureTo the stragglers are still read, until nothing arrives for
	// --quiet (or --max-drain passes), so a lagging connector shows its
	// full lag instead of losing its latest events.
	lastRecord := start
	for ctx.Err() == nil {
		now := time.Now()
		if now.After(measureTo) && (now.Sub(lastRecord) > *quiet || now.Sub(measureTo) > *maxDrain) {
			break
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pollCtx)
		cancel()
		received := time.Now()
		if fs.NumRecords() > 0 {
			lastRecord = received
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(os.Stderr, "debeziumlag: fetching %s/%d: %v\n", t, p, err)
			}
		})
		if !sampled && received.After(measureFrom) {
			// The node's histogram at the end of the warm-up: the
			// baseline subtracted from the final one.
			if before, err = sampleNode(ctx, *node); err != nil {
				return err
			}
			sampled = true
		}
		fs.EachRecord(func(r *kgo.Record) {
			e, ok := parseEvent(r.Value)
			if !ok {
				return
			}
			window.add(e, r.Timestamp, received)
			if c := time.UnixMicro(e.commitUs); !c.Before(measureFrom) && c.Before(measureTo) {
				all.add(e, r.Timestamp, received)
			}
		})
		if *every > 0 && received.After(nextReport) {
			fmt.Printf("%6s %7d events %6.0f/s  commit→kafka p50 %4.0f ms p99 %5.0f ms\n",
				received.Sub(start).Round(time.Second), len(window.total),
				float64(len(window.total))/every.Seconds(), window.total.q(0.5), window.total.q(0.99))
			window = lags{}
			nextReport = nextReport.Add(*every)
		}
	}
	elapsed := measureTo.Sub(measureFrom)
	if len(all.total) == 0 {
		fmt.Println("debeziumlag: no change events seen")
		return nil
	}
	fmt.Printf("debeziumlag: %d change events committed in the last %s (%.0f/s)\n",
		len(all.total), elapsed.Round(time.Second), float64(len(all.total))/elapsed.Seconds())
	fmt.Printf("  %-44s %7s %7s %7s %7s %7s\n", "segment (ms)", "p50", "p90", "p95", "p99", "max")
	for _, s := range []struct {
		name string
		d    durations
	}{
		{"commit → Debezium read it (source→envelope ts)", all.read},
		{"read → Connect sent it (queue, poll, convert)", all.queued},
		{"sent → consumer got it (producer, broker, fetch)", all.kafka},
		{"commit → sent (Kafka record timestamp)", all.sent},
		{"commit → consumer got it: Debezium's share", all.total},
	} {
		fmt.Printf("  %-44s %7.0f %7.0f %7.0f %7.0f %7.0f\n", s.name, s.d.q(0.5), s.d.q(0.9), s.d.q(0.95), s.d.q(0.99), s.d.q(1))
	}
	if *node == "" {
		return nil
	}
	after, err := sampleNode(context.Background(), *node)
	if err != nil {
		return err
	}
	h := after.hist.minus(before.hist)
	f := after.status.Freshness
	fmt.Printf("drivetrain %s: end-to-end freshness, commit → ClickHouse ack; lag %d, sink backlog %d at the end\n",
		*node, after.status.Lag, after.status.SinkBacklog)
	fmt.Printf("  %-44s %7s %7s %7s %7s %7s %8s\n", "source (ms)", "p50", "p90", "p95", "p99", "max", "rows")
	fmt.Printf("  %-44s %7.0f %7.0f %7s %7.0f %7.0f %8d\n", "/status since the node started, ×1.25 buckets",
		f.P50, f.P90, "-", f.P99, f.Max, f.Count)
	if sampled {
		fmt.Printf("  %-44s %7.0f %7.0f %7.0f %7.0f %7s %8d\n", "/metrics in the window, ×2 buckets interpolated",
			1000*h.q(0.5), 1000*h.q(0.9), 1000*h.q(0.95), 1000*h.q(0.99), "-", int64(h.count))
	}
	return nil
}

// event holds the times (Unix µs) of one Debezium change event.
type event struct {
	// commitUs is source.ts_us: when the transaction committed.
	commitUs int64
	// readUs is the envelope's ts_us: when Debezium made the event.
	readUs int64
}

// parseEvent reads the two times from a Debezium JSON value with or
// without an embedded schema; tombstones, heartbeats and other records
// report false.
func parseEvent(value []byte) (event, bool) {
	if value == nil {
		return event{}, false
	}
	// With schemas the value is {"schema":…,"payload":{…}}; only the
	// payload is decoded (the schema is most of the bytes). Inside string
	// values quotes are escaped, so the key can only be the real one.
	payload := value
	if i := bytes.Index(value, []byte(`"payload":`)); i >= 0 {
		payload = value[i+len(`"payload":`):]
		if j := bytes.LastIndexByte(payload, '}'); j >= 0 {
			payload = payload[:j]
		}
	}
	var p struct {
		Source *struct {
			TsUs int64 `json:"ts_us"`
		} `json:"source"`
		TsUs int64 `json:"ts_us"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Source == nil || p.Source.TsUs == 0 || p.TsUs == 0 {
		return event{}, false
	}
	return event{commitUs: p.Source.TsUs, readUs: p.TsUs}, true
}

// durations are milliseconds.
type durations []float64

// q returns the nearest-rank quantile p (0 < p <= 1); it sorts d.
func (d durations) q(p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p*float64(len(d))+0.5) - 1
	return d[max(0, min(len(d)-1, i))]
}

// lags collects the segments of every measured event.
type lags struct {
	read, queued, kafka, sent, total durations
}

func (l *lags) add(e event, sent, received time.Time) {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	sentUs, recvUs := sent.UnixMicro(), received.UnixMicro()
	l.read = append(l.read, ms(e.readUs-e.commitUs))
	l.queued = append(l.queued, ms(sentUs-e.readUs))
	l.kafka = append(l.kafka, ms(recvUs-sentUs))
	l.sent = append(l.sent, ms(sentUs-e.commitUs))
	l.total = append(l.total, ms(recvUs-e.commitUs))
}

// nodeSample is what a drivetrain node reports at one moment.
type nodeSample struct {
	hist   histogram
	status struct {
		Lag         int64 `json:"lag"`
		SinkBacklog int64 `json:"sink_backlog"`
		Freshness   struct {
			Count int64   `json:"count"`
			P50   float64 `json:"p50_ms"`
			P90   float64 `json:"p90_ms"`
			P99   float64 `json:"p99_ms"`
			Max   float64 `json:"max_ms"`
		} `json:"freshness"`
	}
}

func sampleNode(ctx context.Context, base string) (nodeSample, error) {
	var s nodeSample
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
		if err != nil {
			return nil, fmt.Errorf("building the request for %s: %w", path, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading the node's %s: %w", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("reading the node's %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("reading the node's %s: %s", path, resp.Status)
		}
		return body, nil
	}
	body, err := get("/metrics")
	if err != nil {
		return s, err
	}
	if s.hist, err = parseHistogram(body, "drivetrain_freshness_seconds"); err != nil {
		return s, err
	}
	if body, err = get("/status"); err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &s.status); err != nil {
		return s, fmt.Errorf("decoding the node's /status: %w", err)
	}
	return s, nil
}

// histogram is a Prometheus histogram: cumulative counts per upper bound.
type histogram struct {
	bounds []float64 // ascending, +Inf last
	counts []float64
	count  float64
}

// parseHistogram reads the buckets of one histogram from the Prometheus
// text format.
func parseHistogram(text []byte, name string) (histogram, error) {
	var h histogram
	for line := range strings.SplitSeq(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, name+`_bucket{le="`):
			rest := strings.TrimPrefix(line, name+`_bucket{le="`)
			le, val, ok := strings.Cut(rest, `"} `)
			if !ok {
				return h, fmt.Errorf("parsing %q: no value", line)
			}
			var b, c float64
			if le == "+Inf" {
				b = inf
			} else if _, err := fmt.Sscan(le, &b); err != nil {
				return h, fmt.Errorf("parsing the bound of %q: %w", line, err)
			}
			if _, err := fmt.Sscan(val, &c); err != nil {
				return h, fmt.Errorf("parsing the count of %q: %w", line, err)
			}
			h.bounds, h.counts = append(h.bounds, b), append(h.counts, c)
		case strings.HasPrefix(line, name+"_count "):
			if _, err := fmt.Sscan(strings.TrimPrefix(line, name+"_count "), &h.count); err != nil {
				return h, fmt.Errorf("parsing %q: %w", line, err)
			}
		}
	}
	if len(h.bounds) == 0 {
		return h, fmt.Errorf("finding %s in /metrics: not there", name)
	}
	return h, nil
}

const inf = 1e308

// minus returns the observations of h that b had not seen yet; b may be
// the zero histogram.
func (h histogram) minus(b histogram) histogram {
	out := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), count: h.count - b.count}
	if len(b.counts) == len(h.counts) {
		for i := range out.counts {
			out.counts[i] -= b.counts[i]
		}
	}
	return out
}

// q returns quantile p, interpolated linearly inside its bucket (as
// PromQL's histogram_quantile does); 0 when h is empty.
func (h histogram) q(p float64) float64 {
	if h.count <= 0 {
		return 0
	}
	rank := p * h.count
	lower, prev := 0.0, 0.0
	for i, c := range h.counts {
		if c >= rank {
			if h.bounds[i] == inf {
				return lower
			}
			if c == prev {
				return h.bounds[i]
			}
			return lower + (h.bounds[i]-lower)*(rank-prev)/(c-prev)
		}
		lower, prev = h.bounds[i], c
	}
	return lower
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
