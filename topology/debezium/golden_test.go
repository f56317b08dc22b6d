package debezium

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/fixtures")

// fixture is one captured Kafka record (testdata/capture.sh).
type fixture struct {
	name       string
	topic      string
	key, value []byte // nil for a null key or value
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob("testdata/fixtures/*.json")
	require.NoError(t, err)
	var out []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var f struct {
			Topic string          `json:"topic"`
			Key   json.RawMessage `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		require.NoError(t, json.Unmarshal(data, &f), p)
		out = append(out, fixture{
			name:  strings.TrimSuffix(filepath.Base(p), ".json"),
			topic: f.Topic,
			key:   nullToNil(f.Key),
			value: nullToNil(f.Value),
		})
	}
	return out
}

func nullToNil(b json.RawMessage) []byte {
	if b == nil || string(b) == "null" {
		return nil
	}
	return b
}

// goldenText renders the result of decoding a record as the golden files
// hold it: the inspect JSON, indented, or the error line.
func goldenText(ch *Change, err error) []byte {
	if err != nil {
		return []byte("error: " + err.Error() + "\n")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, ch.AppendJSON(nil), "", "  "); err != nil {
		return []byte("invalid JSON rendering: " + err.Error() + "\n")
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	fixtures := loadFixtures(t)
	if len(fixtures) == 0 {
		t.Skip("no fixtures in testdata/fixtures (run testdata/capture.sh)")
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			d := NewDecoder(Options{})
			var ch Change
			err := d.Decode(f.topic, f.key, f.value, &ch)
			got := goldenText(&ch, err)
			// A second decode goes through the schema cache.
			err2 := d.Decode(f.topic, f.key, f.value, &ch)
			assert.Equal(t, string(got), string(goldenText(&ch, err2)), "second decode differs")

			path := filepath.Join("testdata", "fixtures", f.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run TestGolden -update to create it")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// TestFixturesDecode checks that every captured record decodes: they are
// real Debezium output, so none may be an error.
func TestFixturesDecode(t *testing.T) {
	for _, f := range loadFixtures(t) {
		d := NewDecoder(Options{})
		var ch Change
		assert.NoError(t, d.Decode(f.topic, f.key, f.value, &ch), f.name)
	}
}
