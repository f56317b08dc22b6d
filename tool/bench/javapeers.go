package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// runKafkaStreams runs bench/peers/kafka-streams with its own
// application id (hence consumer group and internal topics), output
// topic and state directory.
func runKafkaStreams(ctx context.Context, r *runner, w *workload, db string) (sample, error) {
	app := strings.ReplaceAll(db, "_", "-")
	state := filepath.Join(r.opts.Out, app+".state")
	defer os.RemoveAll(state)
	return r.runJavaPeer(ctx, w, db, "kafka-streams", "drivetrain.bench.FactsApp", "--app-id", app, "--state-dir", state)
}

// runFlink runs bench/peers/flink: a Flink SQL job in a local
// mini-cluster that ends once it has read the topics.
func runFlink(ctx context.Context, r *runner, w *workload, db string) (sample, error) {
	app := strings.ReplaceAll(db, "_", "-")
	return r.runJavaPeer(ctx, w, db, "flink", "drivetrain.bench.FlinkFacts", "--group", app, "--records", fmt.Sprint(w.Records))
}

// runJavaPeer builds the Maven project bench/peers/<name> (once per run
// of the suite), creates an output topic <db>.facts, runs the peer's main
// class with -Xmx2g, --brokers, --prefix and --output before args, then
// loads the facts of the output topic (the last value of each key) into
// db for the check: that load is not measured. The topics starting with
// the peer's name in db go away after.
func (r *runner) runJavaPeer(ctx context.Context, w *workload, db, name, class string, args ...string) (sample, error) {
	dir := filepath.Join(r.opts.PeersDir, name)
	if !r.stack.built[name] {
		fmt.Fprintf(r.opts.Progress, "%s: mvn package in %s\n", name, dir)
		out, err := exec.CommandContext(ctx, "mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"), "package").CombinedOutput()
		if err != nil {
			return sample{}, fmt.Errorf("mvn package: %w: %s", err, lastLines(string(out), 10))
		}
		if r.stack.built == nil {
			r.stack.built = map[string]bool{}
		}
		r.stack.built[name] = true
		if v := pomVersion(filepath.Join(dir, "pom.xml")); v != "" {
			r.res.Machine.Versions[name] = v
		}
	}
	prefix := strings.ReplaceAll(db, "_", "-")
	output := prefix + ".facts"
	adm := kadm.NewClient(r.stack.kafka)
	if _, err := adm.CreateTopics(ctx, int32(w.Partitions), 1, nil, output); err != nil {
		return sample{}, fmt.Errorf("creating %s: %w", output, err)
	}
	defer r.deleteTopics(prefix)
	cmd := exec.CommandContext(ctx, "java", append([]string{"-Xmx2g", "-cp",
		filepath.Join(dir, "target", "classes") + string(os.PathListSeparator) + filepath.Join(dir, "target", "lib", "*"),
		class, "--brokers", strings.Join(r.opts.Kafka, ","), "--prefix", r.opts.TopicPrefix, "--output", output}, args...)...)
	s, err := runPeerProcess(cmd, w)
	if err != nil {
		return s, err
	}
	return s, r.loadFacts(ctx, output, db)
}

// pomVersion returns the versions a pom.xml pins in its properties
// (kafka.version, flink.version, …), for the results' machine versions.
func pomVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, m := range pomVersionRe.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return strings.Join(out, ", ")
}

var pomVersionRe = regexp.MustCompile(`<([a-z.]+)\.version>([^<]+)</`)

// deleteTopics deletes the topics whose names start with prefix, and the
// consumer group of that name.
func (r *runner) deleteTopics(prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(r.stack.kafka)
	deleteGroups(ctx, adm, prefix)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return
	}
	var del []string
	for _, t := range topics.Names() {
		if strings.HasPrefix(t, prefix) {
			del = append(del, t)
		}
	}
	if len(del) > 0 {
		_, _ = adm.DeleteTopics(ctx, del...)
	}
}

// streamsFact is a fact as the Java peers write it: money in
// cents, times in Unix seconds.
type streamsFact struct {
	OrderItemID     int64  `json:"order_item_id"`
	OrderID         int64  `json:"order_id"`
	OrderDate       int64  `json:"order_date"`
	OrderStatus     string `json:"order_status"`
	Channel         string `json:"channel"`
	Currency        string `json:"currency"`
	CustomerID      int64  `json:"customer_id"`
	CustomerName    string `json:"customer_name"`
	CustomerEmail   string `json:"customer_email"`
	CustomerCity    string `json:"customer_city"`
	CustomerRegion  string `json:"customer_region"`
	CustomerCountry string `json:"customer_country"`
	CustomerSegment string `json:"customer_segment"`
	VehicleID       int64  `json:"vehicle_id"`
	VIN             string `json:"vin"`
	Make            string `json:"make"`
	Model           string `json:"model"`
	ModelYear       int16  `json:"model_year"`
	BodyType        string `json:"body_type"`
	FuelType        string `json:"fuel_type"`
	Condition       string `json:"condition"`
	ListPrice       int64  `json:"list_price"`
	Quantity        int32  `json:"quantity"`
	UnitPrice       int64  `json:"unit_price"`
	Discount        int64  `json:"discount"`
	LineTotal       int64  `json:"line_total"`
	OrderTotal      int64  `json:"order_total"`
	OrderPaid       int64  `json:"order_paid"`
	PaymentStatus   string `json:"payment_status"`
	UpdatedAt       int64  `json:"updated_at"`
}

func (f *streamsFact) fact(version uint64) topology.Fact {
	m := func(c int64) topology.Decimal { return topology.NewDecimal(c, topology.MoneyScale) }
	sec := func(s int64) topology.Timestamp { return topology.Timestamp(s * 1_000_000) }
	return topology.Fact{
		OrderItemID: f.OrderItemID, OrderID: f.OrderID, OrderDate: sec(f.OrderDate), OrderStatus: f.OrderStatus,
		Channel: f.Channel, Currency: f.Currency, CustomerID: f.CustomerID, CustomerName: f.CustomerName,
		CustomerEmail: f.CustomerEmail, CustomerCity: f.CustomerCity, CustomerRegion: f.CustomerRegion,
		CustomerCountry: f.CustomerCountry, CustomerSegment: f.CustomerSegment, VehicleID: f.VehicleID, VIN: f.VIN,
		Make: f.Make, Model: f.Model, ModelYear: f.ModelYear, BodyType: f.BodyType, FuelType: f.FuelType,
		Condition: f.Condition, ListPrice: m(f.ListPrice), Quantity: f.Quantity, UnitPrice: m(f.UnitPrice),
		Discount: m(f.Discount), LineTotal: m(f.LineTotal), OrderTotal: m(f.OrderTotal), OrderPaid: m(f.OrderPaid),
		PaymentStatus: f.PaymentStatus, UpdatedAt: sec(f.UpdatedAt), Version: version,
	}
}

// loadFacts reads a facts topic to its end and writes the last live fact
// of each key into db's sales_facts.
func (r *runner) loadFacts(ctx context.Context, topic, db string) error {
	adm := kadm.NewClient(r.stack.kafka)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.opts.Kafka...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	last := map[string][]byte{}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("reading %s: %w", topic, err)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			last[string(rec.Key)] = rec.Value
			if end, ok := want[rec.Partition]; ok && rec.Offset+1 >= end {
				delete(want, rec.Partition)
			}
		})
	}
	facts := make([]topology.Fact, 0, len(last))
	for _, v := range last {
		if v == nil {
			continue
		}
		var f streamsFact
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("reading a fact of %s: %w", topic, err)
		}
		facts = append(facts, f.fact(1))
	}
	// In order_date order, so that each insert makes parts in few of the
	// table's monthly partitions: ClickHouse 18.16 reads every part at
	// once under FINAL (the checksum's view), and parts spread over every
	// month by each of the batches made it pass its memory limit.
	slices.SortFunc(facts, func(a, b topology.Fact) int { return cmp.Compare(a.OrderDate, b.OrderDate) })
	ch, err := sinks.Dial(ctx, sinks.Config{Addr: r.opts.ClickHouse, Database: db}, r.log.Level(zerolog.WarnLevel))
	if err != nil {
		return err
	}
	defer ch.Close()
	schema, err := ch.EnsureSchema(ctx)
	if err != nil {
		return err
	}
	fw := schema.FactWriter()
	for i := 0; i < len(facts); i += sinks.DefaultBatchRows {
		if err := fw.Write(ctx, facts[i:min(i+sinks.DefaultBatchRows, len(facts))]); err != nil {
			return err
		}
	}
	return nil
}

// deleteGroups deletes consumer groups, retrying for a few seconds: a
// member that just left may keep its group non-empty for a moment.
func deleteGroups(ctx context.Context, adm *kadm.Client, groups ...string) {
	for range 10 {
		resp, err := adm.DeleteGroups(ctx, groups...)
		if err == nil {
			err = resp.Error()
		}
		if err == nil || errors.Is(err, kerr.GroupIDNotFound) || sleep(ctx, time.Second) != nil {
			return
		}
	}
}
