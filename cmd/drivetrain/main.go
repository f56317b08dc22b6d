// Command drivetrain is the one binary of the drivetrain stream processor.
//
// Run `drivetrain help` for the list of commands and `drivetrain <command>
// --help` for each command's flags. Every command reads one configuration
// (tool/config, docs/configuration.md): the YAML file of --config, then the
// DRIVETRAIN_* environment, then its flags, each key with the same name
// everywhere; the defaults are the local stack's addresses, so a shell that
// sourced the local stack's env file (.stack/env) needs no flags at all.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

// app carries what every command needs: where to print and how to log.
type app struct {
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
	log    zerolog.Logger
}

type command struct {
	name    string
	args    string // synopsis of the positional arguments, for usage lines
	summary string
	// run gets its own command value (for newFlagSet) as c: referring to
	// the package-level command variable from its run function would be an
	// initialization cycle.
	run func(ctx context.Context, a *app, c command, args []string) error
}

// commands lists only commands that work; later issues add the rest.
var commands = []command{
	// Keep alphabetical; each command lives in its own file.
	benchCommand,
	connectorCommand,
	dashboardCommand,
	demoCommand,
	generateCommand,
	healthCommand,
	inspectCommand,
	replayCommand,
	reportCommand,
	runCommand,
	statusCommand,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], &app{
		stdout: os.Stdout,
		stderr: os.Stderr,
		stdin:  os.Stdin,
		log:    newLogger(os.Stderr),
	})
	stop()
	os.Exit(code)
}

// runMain dispatches to a command and turns its error into an exit status and
// a one-line message.
func runMain(ctx context.Context, args []string, a *app) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return runMain(ctx, []string{args[1], "--help"}, a)
		}
		printUsage(a.stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, a, c, args[1:])
		if err == nil || errors.Is(err, errHelpShown) {
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(a.stderr, ee.msg)
			}
			return ee.code
		}
		fmt.Fprintf(a.stderr, "drivetrain %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(a.stderr, "drivetrain: unknown command %q (run 'drivetrain help' for the list)\n", args[0])
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "drivetrain turns the Debezium change stream of the car e-commerce database into sales facts in ClickHouse.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: drivetrain <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'drivetrain <command> --help' for a command's flags.")
}

// exitError ends the program with a given status and message (which may be
// empty when the command already printed what it had to say).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// newLogger builds the root logger: JSON lines by default, the console format
// when stderr is a terminal. Commands pass it down; there is no global logger.
func newLogger(w *os.File) zerolog.Logger {
	var out io.Writer = w
	if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	level := zerolog.InfoLevel
	if l, err := zerolog.ParseLevel(os.Getenv("DRIVETRAIN_LOG_LEVEL")); err == nil && l != zerolog.NoLevel {
		level = l
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}
