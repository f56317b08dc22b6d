package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

var statusCommand = command{
	name:    "status",
	summary: "the cluster at a glance: group members and their partitions, lag per partition and in total, and each node's figures",
	run:     runStatus,
}

func runStatus(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.kafkaFlag(&ep)
	fs.topicPrefixFlag(&ep)
	var group string
	fs.keyString(&group, "group", "processor.group", "the nodes' consumer group")
	var nodes string
	fs.envString(&nodes, "nodes", "DRIVETRAIN_STATUS_NODES", "", "the nodes' HTTP addresses (http_addr), comma-separated, to include their figures (ready, idle, lag per topic, rows written, backlog, freshness, dead letters, state size); "+
		"each node's lag on the global tables (customers, vehicles), which the group does not commit, is added to the total lag, and the cluster is idle when the group has no lag and every node is idle")
	watch := fs.Duration("watch", 0, "refresh every this long (e.g. 2s) until interrupted")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *watch < 0 {
		return fmt.Errorf("--watch must not be negative, got %s", *watch)
	}
	var nodeURLs []string
	for _, n := range strings.Split(nodes, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if !strings.Contains(n, "://") {
				n = "http://" + n
			}
			nodeURLs = append(nodeURLs, strings.TrimRight(n, "/"))
		}
	}
	kafkaOpts, err := ep.kafkaOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kafkaOpts, kgo.DialTimeout(3*time.Second))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		st, err := observe.ReadCluster(ctx, adm, group, nodeURLs)
		if err != nil {
			return err
		}
		if *watch > 0 && !*asJSON && isTerminal(a.stdout) {
			fmt.Fprint(a.stdout, "\033[H\033[2J")
		}
		if *asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(st); err != nil {
				return err
			}
		} else {
			observe.WriteCluster(a.stdout, st)
		}
		if *watch == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*watch):
		}
	}
}
