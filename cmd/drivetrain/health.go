package main

import (
	"context"
	"fmt"
	"time"

	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/tool/health"
)

var healthCommand = command{
	name: "health",
	summary: "check PostgreSQL, Kafka, Kafka Connect, ClickHouse and the consumer group's lag; " +
		"one line per check with the fix for each failure",
	run: runHealth,
}

func runHealth(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.postgresFlag(&ep)
	fs.kafkaFlag(&ep)
	fs.connectFlag(&ep)
	fs.clickhouseFlag(&ep)
	fs.topicPrefixFlag(&ep)
	var group string
	fs.keyString(&group, "group", "processor.group", "consumer group whose lag is checked against ready_max_lag")
	connector := fs.String("connector", "", "Debezium connector name (default: the built-in config's, drivetrain-postgres)")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each service's checks")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", *timeout)
	}
	if *connector == "" {
		cf, err := connect.LoadFile("")
		if err != nil {
			return err
		}
		*connector = cf.Name
	}
	if len(ep.brokers()) == 0 {
		return fmt.Errorf("--kafka: no broker address given")
	}

	cfg := ep.cfg
	var checks []health.Check
	run := func(f func(ctx context.Context) []health.Check) {
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		checks = append(checks, f(cctx)...)
	}
	run(func(ctx context.Context) []health.Check { return health.Postgres(ctx, ep.postgres) })
	run(func(ctx context.Context) []health.Check { return health.Kafka(ctx, cfg.Kafka, ep.topicPrefix) })
	run(func(ctx context.Context) []health.Check { return health.Connector(ctx, ep.connect, *connector) })
	run(func(ctx context.Context) []health.Check { return health.ClickHouse(ctx, cfg.ClickHouse) })
	run(func(ctx context.Context) []health.Check {
		return health.ConsumerLag(ctx, cfg.Kafka, group, ep.topicPrefix, cfg.ReadyMaxLag)
	})

	failed := health.Write(a.stdout, checks)
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("drivetrain health: %d of %d checks failed", failed, len(checks))}
	}
	return nil
}
