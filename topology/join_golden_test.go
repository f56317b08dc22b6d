package topology_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestJoinGolden runs the change sequences of testdata/join/*.txt through
// the join rules on an in-memory store and compares what they emit, step
// by step and as the final ReplacingMergeTree view, with the .golden file
// beside each (rewritten with -update).
//
// Input syntax, one change per line ('#' starts a comment line):
//
//	partitions N                    order-stream partitions (default 1)
//	<table> <op> col=value ... [key=value ...]
//
// <op> is c, r, u or d. Columns not given are zero or NULL. An update
// starts from the row's last image in the file and a delete uses it as
// its before image, so only changed columns need writing; updates carry
// that image as Before (FULL replica identity) unless "nobefore" is given,
// and "before.col=value" overrides a column of it. Other keys: p=
// (partition; default order_id mod N, 0 for global tables), off= (offset;
// default the next of the topic partition), lsn= (default 100 + the
// line's step number - 1), ts= (source.ts_ms; default 2024-01-01T00:00:00Z plus
// lsn-100 seconds), now= (the emission clock; default 1000 × the line's
// step number), unchanged=col,col (TOAST placeholders: the columns are
// blanked in After and marked unchanged).
func TestJoinGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "join", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			require.NoError(t, err)
			got, err := runScript(string(in))
			require.NoError(t, err)
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), got)
		})
	}
}

type rowKey struct {
	table topology.Table
	id    int64
}

type script struct {
	partitions int32
	images     map[rowKey]topology.Row
	offsets    map[topologytest.Queue]int64
	lsn        uint64
	step       int
	mem        *topologytest.MemStore
	sink       *topologytest.Sink
	out        topology.Output
	b          strings.Builder
}

func runScript(in string) (string, error) {
	s := &script{
		partitions: 1,
		images:     map[rowKey]topology.Row{},
		offsets:    map[topologytest.Queue]int64{},
		lsn:        99,
		mem:        topologytest.NewMemStore(),
		sink:       topologytest.NewSink(),
	}
	sc := bufio.NewScanner(strings.NewReader(in))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			s.b.WriteString("\n")
			continue
		}
		if strings.HasPrefix(line, "#") {
			s.b.WriteString(line + "\n")
			continue
		}
		if err := s.exec(line); err != nil {
			return "", fmt.Errorf("line %d: %w", n, err)
		}
	}
	s.b.WriteString("\n== final mirror rows (FINAL)\n")
	for _, m := range s.sink.Mirrors() {
		s.b.WriteString(topologytest.FormatMirror(&m) + "\n")
	}
	s.b.WriteString("\n== final facts (FINAL)\n")
	for _, f := range s.sink.Facts() {
		s.b.WriteString(topologytest.FormatFact(&f))
	}
	return s.b.String(), nil
}

// tokens splits a line on spaces, keeping "quoted strings" whole.
func tokens(line string) ([]string, error) {
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		i := 0
		for i < len(line) && line[i] != ' ' {
			if line[i] == '"' {
				q, err := strconv.QuotedPrefix(line[i:])
				if err != nil {
					return nil, fmt.Errorf("bad quoted string in %q", line)
				}
				i += len(q)
				continue
			}
			i++
		}
		out = append(out, line[:i])
		line = line[i:]
	}
	return out, nil
}

func (s *script) exec(line string) error {
	toks, err := tokens(line)
	if err != nil {
		return err
	}
	if toks[0] == "partitions" {
		n, err := strconv.Atoi(toks[1])
		if err != nil {
			return err
		}
		s.partitions = int32(n)
		s.b.WriteString(line + "\n")
		return nil
	}
	if len(toks) < 2 {
		return fmt.Errorf("want <table> <op> ...")
	}
	table := topology.TableNamed(toks[0])
	op := topology.OpNamed(toks[1])
	if table == topology.TableUnknown || op == topology.OpUnknown {
		return fmt.Errorf("unknown table or op in %q", line)
	}
	s.step++
	ch := topology.Change{Table: table, Op: op}
	var (
		cols, before  [][2]string
		part, off     = int64(-1), int64(-1)
		ts            = int64(-1)
		now           = uint64(1000 * s.step)
		noBefore      bool
		unchangedCols []string
	)
	s.lsn++
	lsn := s.lsn
	for _, tok := range toks[2:] {
		k, v, ok := strings.Cut(tok, "=")
		switch {
		case tok == "nobefore":
			noBefore = true
		case !ok:
			return fmt.Errorf("want key=value, got %q", tok)
		case k == "p":
			part, err = strconv.ParseInt(v, 10, 32)
		case k == "off":
			off, err = strconv.ParseInt(v, 10, 64)
		case k == "lsn":
			lsn, err = strconv.ParseUint(v, 10, 64)
		case k == "ts":
			ts, err = strconv.ParseInt(v, 10, 64)
		case k == "now":
			now, err = strconv.ParseUint(v, 10, 64)
		case k == "unchanged":
			unchangedCols = strings.Split(v, ",")
		case strings.HasPrefix(k, "before."):
			before = append(before, [2]string{strings.TrimPrefix(k, "before."), v})
		default:
			cols = append(cols, [2]string{k, v})
		}
		if err != nil {
			return fmt.Errorf("parsing %q: %w", tok, err)
		}
	}
	ch.LSN = lsn
	if ts < 0 {
		ts = 1_704_067_200_000 + int64(lsn-100)*1000
	}
	ch.SourceTsMs = ts

	// The row image the line describes: a fresh row for c and r, the
	// last image otherwise, with the given columns set.
	img := topology.Row{Table: table}
	for _, c := range cols {
		if c[0] == "id" {
			if err := topologytest.SetColumn(&img, "id", c[1]); err != nil {
				return err
			}
		}
	}
	key := rowKey{table, img.ID()}
	prev, known := s.images[key]
	if known && (op == topology.OpUpdate || op == topology.OpDelete) {
		img = prev
	}
	for _, c := range cols {
		if err := topologytest.SetColumn(&img, c[0], c[1]); err != nil {
			return err
		}
	}
	if !known {
		// No earlier image in the file: the line describes the row whole.
		prev = img
	}
	if op == topology.OpDelete {
		ch.Before = topology.Some(img)
		delete(s.images, key)
	} else {
		s.images[key] = img
		after := img
		for _, name := range unchangedCols {
			n, ok := topologytest.ColumnNumber(table, name)
			if !ok {
				return fmt.Errorf("no column %q in %s", name, table)
			}
			ch.Unchanged = ch.Unchanged.With(n)
			topologytest.ClearColumn(&after, n)
		}
		ch.After = topology.Some(after)
		if op == topology.OpUpdate && !noBefore {
			b := prev
			for _, c := range before {
				if err := topologytest.SetColumn(&b, c[0], c[1]); err != nil {
					return err
				}
			}
			ch.Before = topology.Some(b)
		}
	}

	if part < 0 {
		part = 0
		if !table.Global() {
			part = ch.Image().OrderID() % int64(s.partitions)
		}
	}
	q := topologytest.Queue{Topic: topologytest.Topic(table), Partition: int32(part)}
	if off < 0 {
		off = s.offsets[q]
	}
	s.offsets[q] = max(s.offsets[q], off+1)
	ch.Pos = topology.Position{Partition: int32(part), Offset: off}

	fmt.Fprintf(&s.b, "> %s  [p=%d off=%d lsn=%d ts=%d now=%d]\n", line, part, off, ch.LSN, ch.SourceTsMs, now)
	s.out.Reset()
	if table.Global() {
		applied, err := topology.ApplyGlobal(s.mem, &ch, &s.out)
		if err != nil {
			return err
		}
		if applied {
			for p := range s.partitions {
				if err := topology.Refresh(s.mem.Partition(p), table, ch.ID(), &s.out); err != nil {
					return err
				}
				if err := topology.EmitPending(s.mem.Partition(p), now, &s.out); err != nil {
					return err
				}
			}
		}
	} else {
		if err := topology.Apply(s.mem.Partition(int32(part)), &ch, now, &s.out); err != nil {
			return err
		}
		if err := topology.EmitPending(s.mem.Partition(int32(part)), now, &s.out); err != nil {
			return err
		}
	}
	if len(s.out.Mirrors) == 0 && len(s.out.Facts) == 0 {
		s.b.WriteString("  (nothing emitted)\n")
	}
	for _, m := range s.out.Mirrors {
		s.b.WriteString("  " + topologytest.FormatMirror(&m) + "\n")
	}
	for _, f := range s.out.Facts {
		s.b.WriteString(indent(topologytest.FormatFact(&f)))
	}
	s.sink.Insert(&s.out)
	return nil
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}
