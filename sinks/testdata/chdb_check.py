"""chdb_check.py runs drivetrain's ClickHouse files and the sink's Native
blocks on a current ClickHouse embedded in process (chDB), for
TestChdbCurrentServer in sinks/chdb_test.go.

    python chdb_check.py MANIFEST.json

The manifest (JSON) names:
  schema    a SQL file of statements to run first (deploy/clickhouse/schema.sql)
  inserts   [{"query": "INSERT INTO db.t (a, b)", "file": "/abs/block.native"}]:
            each block file is loaded with
            <query> SELECT * FROM file('<file>', 'Native'), in order
  reports   a SQL file of named queries ("-- name: title" before each
            statement; deploy/clickhouse/queries.sql)
  params    {"name": "value"}: the values of the reports' {name:Type}
            query parameters
  queries   {"name": "SELECT ..."}: more queries to run
  database  the database whose tables and columns to report

It prints one JSON object: the server's version; system.tables and
system.columns rows of the database (the columns the sink's schema check
reads); the columns of every block file as the server reads them; and the
rows of every report and query, each value a string. Any failing statement
ends it with a traceback and a non-zero exit status.
"""

import json
import re
import sys
import tempfile

from chdb import session

NAME = re.compile(r"^-- ([a-z0-9-]+): ")


def statements(path):
    """Yields (name, sql) for each statement of a SQL file; name is the
    report name of the "-- name: title" comment line before it, or None."""
    name, lines = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("--"):
                m = NAME.match(line)
                if m:
                    name = m.group(1)
                continue
            if not lines and not line.strip():
                continue
            lines.append(line)
            if line.rstrip().endswith(";"):
                yield name, "\n".join(lines).rstrip().rstrip(";")
                name, lines = None, []
    if any(line.strip() for line in lines):
        raise ValueError(f"{path}: statement without a closing semicolon")


def quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rows(sess, sql, params=None):
    out = sess.query(sql, "JSONCompactStrings", params=params or {})
    return json.loads(out.bytes())["data"]


def main(manifest_path):
    with open(manifest_path, encoding="utf-8") as f:
        m = json.load(f)
    with tempfile.TemporaryDirectory(prefix="chdb-") as path, session.Session(path) as sess:
        for _, sql in statements(m["schema"]):
            sess.query(sql)
        files = []
        for ins in m["inserts"]:
            src = f"file({quote(ins['file'])}, 'Native')"
            files.append(rows(sess, f"DESCRIBE {src}"))
            sess.query(f"{ins['query']} SELECT * FROM {src}")
        db = quote(m["database"])
        out = {
            "version": rows(sess, "SELECT version()")[0][0],
            "tables": rows(
                sess,
                "SELECT name, engine, engine_full, sorting_key FROM system.tables "
                f"WHERE database = {db} ORDER BY name",
            ),
            "columns": rows(
                sess,
                "SELECT table, name, type, default_kind FROM system.columns "
                f"WHERE database = {db} ORDER BY table, position",
            ),
            "files": [[[c[0], c[1]] for c in f] for f in files],
            "reports": {},
            "queries": {},
        }
        for name, sql in statements(m["reports"]):
            if name is None:
                raise ValueError(f"{m['reports']}: a statement without a name comment")
            out["reports"][name] = rows(sess, sql, m.get("params"))
        for name, sql in m.get("queries", {}).items():
            out["queries"][name] = rows(sess, sql)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: chdb_check.py MANIFEST.json")
    main(sys.argv[1])
