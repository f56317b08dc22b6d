package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runWithStdin(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin), log: zerolog.Nop()})
	return out.String(), errb.String(), code
}

// TestInspectFixtures runs inspect on every record captured from Debezium
// and compares its output with the decoder's golden rendering.
func TestInspectFixtures(t *testing.T) {
	paths, err := filepath.Glob("../../topology/debezium/testdata/fixtures/*.json")
	require.NoError(t, err)
	if len(paths) == 0 {
		t.Skip("no fixtures captured yet")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			var f struct {
				Topic string          `json:"topic"`
				Key   json.RawMessage `json:"key"`
				Value json.RawMessage `json:"value"`
			}
			require.NoError(t, json.Unmarshal(data, &f))
			args := []string{"inspect", "--topic", f.Topic}
			if string(f.Key) != "null" {
				args = append(args, "--key", string(f.Key))
			}
			value := string(f.Value)
			if value == "null" {
				value = "" // a tombstone: no value bytes
			}
			stdout, stderr, code := runWithStdin(value, args...)
			require.Equal(t, 0, code, stderr)
			golden, err := os.ReadFile(strings.TrimSuffix(p, ".json") + ".golden")
			require.NoError(t, err)
			// The golden file is indented; compare both compacted (JSON
			// columns are embedded verbatim, spaces included).
			var want, got bytes.Buffer
			require.NoError(t, json.Compact(&want, golden))
			require.NoError(t, json.Compact(&got, []byte(stdout)))
			assert.Equal(t, want.String(), got.String())
			assert.Equal(t, 1, strings.Count(stdout, "\n"))
		})
	}
}

func TestInspect(t *testing.T) {
	const item = `{"before":null,"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"D54=","discount":"nA=="},` +
		`"source":{"ts_ms":1732700000123,"snapshot":"false","txId":771,"lsn":24023184},"op":"c"}`
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantOut    string
		wantErr    string
		wantStderr string
	}{
		{
			name: "change", args: []string{"--topic", "ecommerce.public.order_items", "--key", `{"id":7}`}, stdin: item,
			wantOut: `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c","snapshot":"false","lsn":24023184,"tx_id":771,"source_ts_ms":1732700000123,"key":7,` +
				`"before":null,"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"39.98","discount":"-1.00"},"unchanged":[]}`,
		},
		{
			name: "bare table name", args: []string{"--topic", "order_items", "--key", `{"id":7}`}, stdin: item,
			wantOut: `{"topic":"order_items","table":"order_items","op":"c","snapshot":"false","lsn":24023184,"tx_id":771,"source_ts_ms":1732700000123,"key":7,` +
				`"before":null,"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"39.98","discount":"-1.00"},"unchanged":[]}`,
		},
		{
			name: "tombstone from empty stdin", args: []string{"--topic", "ecommerce.public.orders", "--key", `{"id":3}`},
			wantOut: `{"topic":"ecommerce.public.orders","tombstone":true,"key":3}`,
		},
		{
			name: "heartbeat", args: []string{"--topic", "__debezium-heartbeat.ecommerce"}, stdin: `{"ts_ms":1}`,
			wantOut: `{"topic":"__debezium-heartbeat.ecommerce","skipped":"heartbeat"}`,
		},
		{
			name: "decimal handling string", args: []string{"--topic", "order_items", "--key", `{"id":7}`, "--decimal-handling", "string"},
			stdin:   strings.NewReplacer(`"D54="`, `"39.98"`, `"nA=="`, `"-1.00"`).Replace(item),
			wantOut: `"unit_price":"39.98","discount":"-1.00"`,
		},
		{
			name: "unknown column warns", args: []string{"--topic", "order_items", "--key", `{"id":7}`},
			stdin:      strings.Replace(item, `"quantity":2`, `"quantity":2,"gift_wrap":true`, 1),
			wantOut:    `"quantity":2`,
			wantStderr: "warning: column order_items.gift_wrap is not in drivetrain's table definition; ignored",
		},
		{
			name: "undecodable", args: []string{"--topic", "order_items", "--key", `{"id":7}`}, stdin: strings.Replace(item, `"quantity":2`, `"quantity":"two"`, 1),
			wantCode: 2, wantErr: "error: type_mismatch: value.after.quantity: expected an integer, found a string\n",
		},
		{
			name: "malformed", args: []string{"--topic", "order_items"}, stdin: `{"op":`,
			wantCode: 2, wantErr: "error: malformed_json: value.op: unexpected end of input, expected a value\n",
		},
		{
			name: "unknown table", args: []string{"--topic", "ecommerce.public.nope"}, stdin: item,
			wantCode: 2, wantErr: "error: unknown_table: ",
		},
		{name: "no topic", stdin: item, wantCode: 1, wantErr: "drivetrain inspect: --topic is required"},
		{name: "partition without offset", args: []string{"--topic", "t", "--partition", "0"}, wantCode: 1, wantErr: "--offset: required with --partition"},
		{name: "offset without partition", args: []string{"--topic", "t", "--offset", "5"}, wantCode: 1, wantErr: "--partition: required with --offset"},
		{name: "key in kafka mode", args: []string{"--topic", "t", "--offset", "5", "--partition", "0", "--key", "{}"}, wantCode: 1, wantErr: "--key: only for stdin mode"},
		{name: "bad decimal handling", args: []string{"--topic", "t", "--decimal-handling", "double"}, wantCode: 1, wantErr: "--decimal-handling: want auto, precise or string"},
		{name: "bad flag", args: []string{"--bogus"}, wantCode: 1, wantErr: "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runWithStdin(tt.stdin, append([]string{"inspect"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, code, stderr)
			if tt.wantOut != "" {
				assert.Contains(t, stdout, tt.wantOut)
				assert.True(t, json.Valid([]byte(stdout)), stdout)
				assert.Equal(t, 1, strings.Count(stdout, "\n"))
			}
			if tt.wantErr != "" {
				assert.Contains(t, stderr, tt.wantErr)
				assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
				assert.Empty(t, stdout)
			}
			if tt.wantStderr != "" {
				assert.Contains(t, stderr, tt.wantStderr)
			}
		})
	}
}

func TestInspectHelp(t *testing.T) {
	stdout, _, code := runWithStdin("", "inspect", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: drivetrain inspect")
	assert.Contains(t, stdout, "-partition")
}
