// Command debeziumlag measures Debezium's share of end-to-end freshness:
// for every change event produced while it runs, the time from the source
// commit (source.ts_ms) to the record's Kafka timestamp (set when Kafka
// Connect produced it). It reads the five source topics from their end
// offsets for --duration and prints percentiles.
//
//	go run ./bench/debeziumlag --duration 70s &
//	bin/drivetrain generate --rate 5000 --duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("kafka", envOr("DRIVETRAIN_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers")
	prefix := flag.String("topic-prefix", "ecommerce", "Debezium topic prefix")
	duration := flag.Duration("duration", time.Minute, "how long to measure")
	flag.Parse()
	var topics []string
	for _, t := range []string{"customers", "vehicles", "orders", "order_items", "payments"} {
		topics = append(topics, *prefix+".public."+t)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "debeziumlag:", err)
		os.Exit(1)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var lags []float64
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				return
			}
			var v struct {
				Payload *struct {
					Source struct {
						TsMs int64 `json:"ts_ms"`
					} `json:"source"`
				} `json:"payload"`
			}
			if json.Unmarshal(r.Value, &v) != nil || v.Payload == nil || v.Payload.Source.TsMs == 0 {
				return
			}
			lags = append(lags, float64(r.Timestamp.UnixMilli()-v.Payload.Source.TsMs))
		})
	}
	if len(lags) == 0 {
		fmt.Println("debeziumlag: no change events seen")
		return
	}
	slices.Sort(lags)
	q := func(p float64) float64 { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	fmt.Printf("debeziumlag: %d events; source commit → Kafka: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		len(lags), q(0.5), q(0.9), q(0.99), lags[len(lags)-1])
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
