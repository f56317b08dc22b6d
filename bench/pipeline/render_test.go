package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
)

const fixtureDir = "../../topology/debezium/testdata/fixtures"

// TestSchemaFilesMatchFixtures keeps the embedded schema sources verbatim
// copies of the captured records.
func TestSchemaFilesMatchFixtures(t *testing.T) {
	for _, tab := range topology.Tables {
		t.Run(tab.String(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(fixtureDir, "fixture__"+tab.String()+"__u.json"))
			require.NoError(t, err)
			got, err := schemaFiles.ReadFile("schemas/" + tab.String() + ".json")
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "copy testdata/fixtures/fixture__%s__u.json to schemas/%s.json", tab, tab)
		})
	}
}

type capturedFile struct {
	Topic string          `json:"topic"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

type capturedPayload struct {
	Op     string `json:"op"`
	TsNs   int64  `json:"ts_ns"`
	Source struct {
		Name     string  `json:"name"`
		DB       string  `json:"db"`
		TsUs     int64   `json:"ts_us"`
		Snapshot *string `json:"snapshot"`
		Sequence string  `json:"sequence"`
		TxID     int64   `json:"txId"`
		LSN      int64   `json:"lsn"`
	} `json:"source"`
}

// TestRenderMatchesCapturedRecords renders the rows and metadata of every
// captured change record (both converter settings, every table and op)
// and compares the bytes with what Debezium 3.6.1 wrote.
func TestRenderMatchesCapturedRecords(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "fixture*__*.json"))
	require.NoError(t, err)
	tested := 0
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if !strings.HasPrefix(name, "fixture__") && !strings.HasPrefix(name, "fixture_off__") ||
			strings.Contains(name, "tombstone") || strings.Contains(name, "toast") {
			// Connect-format, string/double decimals, tombstones and TOAST
			// placeholders are shapes the generator does not produce.
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var f capturedFile
		require.NoError(t, json.Unmarshal(data, &f), path)
		var ch debezium.Change
		require.NoError(t, debezium.NewDecoder(debezium.Options{}).Decode(f.Topic, f.Key, f.Value, &ch), path)
		if ch.Kind != debezium.KindChange {
			continue
		}
		tested++
		t.Run(name, func(t *testing.T) {
			var env struct {
				Payload json.RawMessage `json:"payload"`
			}
			payload := []byte(f.Value)
			schemas := strings.HasPrefix(string(f.Value), `{"schema":`)
			if schemas {
				require.NoError(t, json.Unmarshal(f.Value, &env))
				payload = env.Payload
			}
			var pl capturedPayload
			require.NoError(t, json.Unmarshal(payload, &pl))
			src := source{
				op:       topology.OpNamed(pl.Op),
				lsn:      pl.Source.LSN,
				txID:     pl.Source.TxID,
				sourceUs: pl.Source.TsUs,
				envNs:    pl.TsNs,
			}
			if pl.Source.Snapshot != nil {
				src.snapshot = *pl.Source.Snapshot
			}
			var seq []*string
			require.NoError(t, json.Unmarshal([]byte(pl.Source.Sequence), &seq))
			require.Len(t, seq, 2)
			if seq[0] != nil {
				src.seqFirst, err = strconv.ParseInt(*seq[0], 10, 64)
				require.NoError(t, err)
			}
			r, err := newRenderer(pl.Source.Name, pl.Source.DB, schemas)
			require.NoError(t, err)
			var before, after *topology.Row
			if ch.Before.Valid {
				row := ch.Before.Row(ch.Table)
				before = &row
			}
			if ch.After.Valid {
				row := ch.After.Row(ch.Table)
				after = &row
			}
			assert.Equal(t, f.Topic, r.topic(ch.Table))
			assert.Equal(t, string(f.Key), string(r.appendKey(nil, ch.Table, ch.Key.V)))
			assert.Equal(t, string(f.Value), string(r.appendValue(nil, ch.Table, &src, before, after)))
		})
	}
	require.Greater(t, tested, 40, "too few captured records found in %s", fixtureDir)
}

func TestAppendDecimal(t *testing.T) {
	tests := []struct {
		unscaled int64
		want     string
	}{
		{0, `"AA=="`},
		{1_899_000, `"HPn4"`},
		{50_000, `"AMNQ"`}, // 0xC350 needs a sign byte
		{-1, `"/w=="`},
		{-128, `"gA=="`},
		{-129, `"/38="`},
		{127, `"fw=="`},
		{128, `"AIA="`},
		{1<<63 - 1, `"f/////////8="`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendDecimal(nil, topology.NewDecimal(tt.unscaled, 2))), "%d", tt.unscaled)
	}
}
