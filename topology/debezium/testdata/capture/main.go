// Command capture consumes the topics written by the fixture connectors of
// ../capture.sh and stores selected records as fixture files, one record
// per file:
//
//	{"topic":"fixture.public.orders","partition":0,"offset":3,
//	"key":<the key bytes, verbatim, or null>,
//	"value":<the value bytes, verbatim, or null>}
//
// The key and value are embedded byte for byte (the JsonConverter writes
// compact JSON), so a decoder reading them sees exactly what Kafka held.
// With -delete it deletes the fixture topics instead.
//
// It lives under testdata so that `go build ./...` and the layout rules of
// the topology packages (no Kafka client) do not apply to it; run it with
// `go run ./topology/debezium/testdata/capture`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicRE matches every topic the fixture connectors write.
const topicRE = `^(__debezium-heartbeat\.)?fixture(_[a-z]+)?(\..*)?$`

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "Kafka bootstrap brokers")
	out := flag.String("out", "", "directory to write fixtures to")
	del := flag.Bool("delete", false, "delete the fixture topics and exit")
	sentinel := flag.String("sentinel", "sentinel@fixture.test", "email of the customer inserted last: its event ends a connector's stream")
	connectors := flag.String("connectors", "fixture,fixture_off,fixture_str,fixture_connect,fixture_dbl", "topic prefixes of the fixture connectors")
	timeout := flag.Duration("timeout", 3*time.Minute, "give up after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var err error
	if *del {
		err = deleteTopics(ctx, strings.Split(*brokers, ","))
	} else {
		err = capture(ctx, strings.Split(*brokers, ","), *out, *sentinel, strings.Split(*connectors, ","))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

func deleteTopics(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	re := regexp.MustCompile(topicRE)
	var names []string
	for _, t := range topics.Names() {
		if re.MatchString(t) {
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return nil
	}
	resp, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("deleting topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			return fmt.Errorf("deleting topic %s: %w", r.Topic, r.Err)
		}
	}
	fmt.Printf("capture: deleted %d topics\n", len(names))
	return nil
}

type record struct {
	topic      string
	partition  int32
	offset     int64
	key, value []byte
}

func capture(ctx context.Context, brokers []string, out, sentinel string, connectors []string) error {
	if out == "" {
		return errors.New("-out is required")
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(topicRE),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMaxAge(time.Second),
		kgo.MetadataMinAge(250*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer cl.Close()

	pending := map[string]bool{}
	for _, c := range connectors {
		pending[c] = true
	}
	var recs []record
	var done time.Time // when the last sentinel arrived
	for {
		if len(pending) == 0 && time.Since(done) > 5*time.Second {
			break
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for the sentinel of %v: %w", keys(pending), ctx.Err())
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return fmt.Errorf("fetching %s/%d: %w", e.Topic, e.Partition, e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, record{r.Topic, r.Partition, r.Offset, r.Key, r.Value})
			if bytes.Contains(r.Value, []byte(`"email":"`+sentinel+`"`)) {
				prefix, _, _ := strings.Cut(r.Topic, ".")
				if pending[prefix] {
					delete(pending, prefix)
					if len(pending) == 0 {
						done = time.Now()
					}
				}
			}
		})
	}
	return write(out, recs, sentinel)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// seedLabels name the rows the capture script seeds (by table and id).
var seedLabels = map[string]string{
	"customers/1":   "typical",
	"customers/2":   "nulls_nonascii_pre1970",
	"vehicles/1":    "typical",
	"vehicles/2":    "max_numeric_nulls",
	"vehicles/3":    "tiny_zero",
	"vehicles/4":    "large_features",
	"orders/1":      "typical",
	"orders/2":      "pre1970_post2038",
	"order_items/1": "typical",
	"order_items/2": "max_price_negative_discount",
	"order_items/3": "tiny_price_zero_discount",
	"payments/1":    "approved",
	"payments/2":    "pending_null_paid_at_negative",
}

// keep decides which records of the variant connectors become fixtures:
// the full set for fixture and fixture_off, the snapshot reads that show
// the connector's mode for the others.
func keep(prefix, table, op string) bool {
	switch prefix {
	case "fixture", "fixture_off":
		return true
	case "fixture_str", "fixture_dbl":
		return op == "r" && (table == "vehicles" || table == "order_items" || table == "payments")
	case "fixture_connect":
		return (op == "r" && table == "customers") || (op == "c" && table == "orders")
	}
	return false
}

func write(out string, recs []record, sentinel string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	seen := map[string]bool{}
	n := 0
	for _, r := range recs {
		name, ok, err := fixtureName(r, sentinel)
		if err != nil {
			return fmt.Errorf("%s/%d@%d: %w", r.topic, r.partition, r.offset, err)
		}
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		var b bytes.Buffer
		fmt.Fprintf(&b, "{\"topic\":%s,\"partition\":%d,\"offset\":%d,\n\"key\":%s,\n\"value\":%s}\n",
			strconv.Quote(r.topic), r.partition, r.offset, raw(r.key), raw(r.value))
		if !json.Valid(b.Bytes()) {
			return fmt.Errorf("%s: record is not JSON", name)
		}
		if err := os.WriteFile(filepath.Join(out, name+".json"), b.Bytes(), 0o644); err != nil {
			return err
		}
		n++
	}
	fmt.Printf("capture: wrote %d fixtures from %d records\n", n, len(recs))
	return nil
}

func raw(b []byte) []byte {
	if b == nil {
		return []byte("null")
	}
	return b
}

// fixtureName names a record's fixture, or reports that it is not kept.
func fixtureName(r record, sentinel string) (string, bool, error) {
	if rest, ok := strings.CutPrefix(r.topic, "__debezium-heartbeat."); ok {
		return rest + "__heartbeat", rest == "fixture", nil
	}
	prefix, rest, _ := strings.Cut(r.topic, ".")
	switch rest {
	case "transaction":
		var v struct {
			Status  string `json:"status"`
			Payload *struct {
				Status string `json:"status"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.value, &v); err != nil {
			return "", false, err
		}
		if v.Payload != nil {
			v.Status = v.Payload.Status
		}
		return prefix + "__transaction_" + strings.ToLower(v.Status), true, nil
	case "message":
		return prefix + "__message", prefix == "fixture" || prefix == "fixture_off", nil
	}
	schema, table, _ := strings.Cut(rest, ".")
	if schema != "public" {
		table = schema + "_" + table
	}
	if r.value == nil {
		return prefix + "__" + table + "__tombstone", keep(prefix, table, "d"), nil
	}
	if bytes.Contains(r.value, []byte(sentinel)) {
		return "", false, nil
	}
	var env struct {
		Op      string          `json:"op"`
		Before  json.RawMessage `json:"before"`
		After   json.RawMessage `json:"after"`
		Payload *struct {
			Op     string          `json:"op"`
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(r.value, &env); err != nil {
		return "", false, err
	}
	if env.Payload != nil {
		env.Op, env.Before, env.After = env.Payload.Op, env.Payload.Before, env.Payload.After
	}
	name := prefix + "__" + table + "__" + env.Op
	if env.Op == "r" {
		var row struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(env.After, &row); err != nil {
			return "", false, err
		}
		label := seedLabels[table+"/"+strconv.FormatInt(row.ID, 10)]
		if label == "" {
			label = strconv.FormatInt(row.ID, 10)
		}
		name += "_" + label
	}
	return name, keep(prefix, table, env.Op), nil
}
