package drivetrain_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/drivetrain-cdc/drivetrain"

// forbidden lists, per package prefix of this module, the import paths its
// packages must not depend on, directly or transitively (docs/design.md, Layout).
var forbidden = map[string][]string{
	module + "/topology": {
		module + "/state", module + "/actors", module + "/sinks", module + "/cmd", module + "/tool",
		"github.com/asynkron/protoactor-go", "github.com/twmb/franz-go",
		"github.com/ClickHouse/ch-go", "github.com/cockroachdb/pebble",
		"net", "os/exec", "database/sql", "github.com/jackc/pgx",
	},
	module + "/state": {
		module + "/actors", module + "/sinks", module + "/cmd", module + "/tool",
		"github.com/asynkron/protoactor-go",
	},
	module + "/sinks": {
		module + "/state", module + "/actors", module + "/cmd", module + "/tool",
		"github.com/asynkron/protoactor-go",
	},
	module + "/actors": {module + "/cmd", module + "/tool"},
	// tool holds the service code of the commands (cmd/drivetrain wires it).
	module + "/tool": {module + "/cmd"},
}

type listedPackage struct {
	ImportPath string
	Deps       []string
}

func TestLayoutDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		for prefix, bad := range forbidden {
			if !within(p.ImportPath, prefix) {
				continue
			}
			seen++
			for _, dep := range p.Deps {
				for _, b := range bad {
					if within(dep, b) {
						t.Errorf("%s depends on %s (forbidden by the layout rules)", p.ImportPath, dep)
					}
				}
			}
		}
	}
	if seen < len(forbidden) {
		t.Fatalf("checked %d packages, want at least one per rule (%d): is go list seeing the tree?", seen, len(forbidden))
	}
}

// within reports whether path is pkg or one of its subpackages.
func within(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}
