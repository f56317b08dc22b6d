package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
)

var inspectCommand = command{
	name: "inspect",
	args: "--topic T [--key K] < value  |  --topic T --partition P --offset O",
	summary: "decode one Debezium record (from stdin, or from Kafka by topic/partition/offset) " +
		"into the typed row drivetrain sees, printed as one JSON object",
	run: runInspect,
}

// maxStdinValue bounds what inspect reads from stdin; the decoder's own
// limit (debezium.DefaultMaxRecordBytes) is lower, so a larger value is
// reported as oversized rather than read whole.
const maxStdinValue = 64 << 20

func runInspect(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.kafkaFlag(&ep)
	topic := fs.String("topic", "", "the record's topic: <prefix>.<schema>.<table> (any prefix), or a bare table name with stdin (required)")
	key := fs.String("key", "", "stdin mode: the record key as JSON, e.g. '{\"id\":7}' (default: a null key)")
	partition := fs.Int("partition", -1, "Kafka mode: the partition to read (with --offset)")
	offset := fs.Int64("offset", -1, "Kafka mode: the offset of the record (with --partition)")
	decimal := fs.String("decimal-handling", "auto", "how NUMERIC strings of schemaless values are read: auto, precise (base64) or string")
	timeout := fs.Duration("timeout", 10*time.Second, "Kafka mode: time allowed to fetch the record")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return errors.New("--topic is required (see 'drivetrain inspect --help')")
	}
	opts := debezium.Options{OnUnknownColumn: func(t topology.Table, col string) {
		fmt.Fprintf(a.stderr, "warning: column %s.%s is not in drivetrain's table definition; ignored\n", t, col)
	}}
	switch *decimal {
	case "auto":
		opts.DecimalHandling = debezium.DecimalAuto
	case "precise":
		opts.DecimalHandling = debezium.DecimalPrecise
	case "string":
		opts.DecimalHandling = debezium.DecimalString
	default:
		return fmt.Errorf("--decimal-handling: want auto, precise or string, got %q", *decimal)
	}

	var recKey, recValue []byte
	recTopic := *topic
	switch {
	case *partition >= 0 && *offset >= 0:
		if *key != "" {
			return errors.New("--key: only for stdin mode; in Kafka mode the record has its own key")
		}
		if *timeout <= 0 {
			return fmt.Errorf("--timeout must be positive, got %s", *timeout)
		}
		kafkaOpts, err := ep.kafkaOpts()
		if err != nil {
			return err
		}
		rec, err := fetchRecord(ctx, kafkaOpts, *topic, int32(*partition), *offset, *timeout)
		if err != nil {
			return err
		}
		recTopic, recKey, recValue = rec.Topic, rec.Key, rec.Value
	case *partition >= 0:
		return errors.New("--offset: required with --partition")
	case *offset >= 0:
		return errors.New("--partition: required with --offset")
	default:
		if *key != "" {
			recKey = []byte(*key)
		}
		v, err := io.ReadAll(io.LimitReader(a.stdin, maxStdinValue))
		if err != nil {
			return fmt.Errorf("reading the value from stdin: %w", err)
		}
		if len(v) > 0 { // empty stdin is a null value: a tombstone
			recValue = v
		}
	}

	var ch debezium.Change
	if err := debezium.NewDecoder(opts).Decode(recTopic, recKey, recValue, &ch); err != nil {
		return &exitError{code: 2, msg: "error: " + oneLine(err.Error())}
	}
	out := ch.AppendJSON(nil)
	out = append(out, '\n')
	_, err := a.stdout.Write(out)
	return err
}

// oneLine keeps an error message on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// fetchRecord reads the record at topic/partition/offset with a client of
// the options kafka (brokers, TLS, SASL).
func fetchRecord(ctx context.Context, kafka []kgo.Opt, topic string, partition int32, offset int64, timeout time.Duration) (*kgo.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := kgo.NewClient(append(kafka,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(offset)}}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("creating the Kafka client: %w", err)
	}
	defer cl.Close()

	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of %s: %w", topic, err)
	}
	end, ok := ends.Lookup(topic, partition)
	switch {
	case !ok:
		return nil, fmt.Errorf("--partition: topic %s has no partition %d", topic, partition)
	case end.Err != nil:
		return nil, fmt.Errorf("listing the end offset of %s/%d: %w", topic, partition, end.Err)
	case offset >= end.Offset:
		return nil, fmt.Errorf("--offset: %s/%d ends at offset %d, there is no record at %d", topic, partition, end.Offset, offset)
	}

	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetching %s/%d@%d: %w", topic, partition, offset, ctx.Err())
		}
		if err := fs.Err(); err != nil {
			return nil, fmt.Errorf("fetching %s/%d@%d: %w", topic, partition, offset, err)
		}
		var rec *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if rec == nil {
				rec = r
			}
		})
		switch {
		case rec == nil:
			continue
		case rec.Offset != offset:
			return nil, fmt.Errorf("--offset: %s/%d has no record at offset %d (compacted, deleted or a transaction marker); the next is at %d",
				topic, partition, offset, rec.Offset)
		}
		return rec, nil
	}
}
