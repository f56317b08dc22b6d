package sinks

import (
	"context"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/ClickHouse/ch-go/proto"
)

// transport runs statements on the server. Implementations are safe for
// concurrent use.
type transport interface {
	// version returns the server's version.
	version(ctx context.Context) (Version, error)
	// exec runs a statement that returns no rows.
	exec(ctx context.Context, sql string) error
	// query runs a SELECT whose ncols columns are all of type String and
	// returns its rows.
	query(ctx context.Context, sql string, ncols int) ([][]string, error)
	// insert sends the rows of input after head ("INSERT INTO db.t (a, b)").
	// s is scratch space the caller keeps between calls.
	insert(ctx context.Context, head string, input proto.Input, s *scratch) error
	close() error
}

// scratch is the encoding space of one writer, reused between inserts.
type scratch struct {
	buf   *proto.Buffer
	comp  *compress.Writer
	head  string // the INSERT that query encodes (HTTP)
	query string
}

func newScratch() *scratch { return &scratch{buf: new(proto.Buffer)} }

// insertHead returns "INSERT INTO table (c1, c2, …)" for the columns of
// input.
func insertHead(table string, input proto.Input) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	for i, c := range input {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
	}
	b.WriteByte(')')
	return b.String()
}

// quoteString quotes s as a ClickHouse string literal.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}
