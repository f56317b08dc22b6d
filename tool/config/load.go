package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "DRIVETRAIN_"

// Sources are the layers Load puts over the defaults, in increasing
// precedence: File, the environment, Flags.
type Sources struct {
	// File is the path of the YAML file of --config; "" for none.
	File string
	// Environ returns the environment as KEY=value strings; nil reads
	// the process's (os.Environ).
	Environ func() []string
	// Flags are the flags set on the command line (not their defaults).
	Flags []Flag
}

// Flag is a flag set on the command line that sets a key.
type Flag struct {
	// Name is the flag's name without dashes, for error messages.
	Name string
	// Key is the configuration key it sets, such as "kafka.brokers".
	Key string
	// Value is the flag's text, parsed like an environment variable's.
	Value string
}

// shortEnv are the second environment names of two keys: the short names
// that .stack/env, docker-compose and scripts use.
var shortEnv = map[string]string{
	"DRIVETRAIN_CLICKHOUSE_URL": "clickhouse.addr",
	"DRIVETRAIN_TOPIC_PREFIX":   "processor.topic_prefix",
}

// removedKeys are keys that would set what another key sets (the
// processor's own copies of the brokers and of the sink's batches); a file
// or environment that uses one stops the program. A key covers its
// subkeys (processor.sink_batch.max_rows).
var removedKeys = map[string]string{
	"processor.brokers":    "kafka.brokers",
	"processor.sink_batch": "clickhouse.batch",
}

// EnvName returns the environment variable of a key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// EnvNames returns the environment variables of a key: EnvName(key), and
// the short name some keys also have.
func EnvNames(key string) []string {
	names := []string{EnvName(key)}
	for short, k := range shortEnv {
		if k == key {
			names = append(names, short)
		}
	}
	return names
}

// Keys returns every key of Config, sorted.
func Keys() []string {
	k, err := defaultsLayer(Config{})
	if err != nil {
		panic(err) // Config always encodes
	}
	keys := k.Keys()
	slices.Sort(keys)
	return keys
}

// Load returns the configuration of src layered over Default: the file,
// then the environment, then the flags. Unknown keys, removed keys and
// values of the wrong type fail with a one-line error naming the file
// and line, the environment variable or the flag, and the key; the
// result is then validated (Config.Validate).
//
// processor.brokers is set from kafka.brokers and processor.sink_batch
// from clickhouse.batch.
func Load(src Sources) (Config, error) {
	k, err := defaultsLayer(Default())
	if err != nil {
		return Config{}, fmt.Errorf("encoding the default configuration: %w", err)
	}
	known := map[string]bool{}
	for _, key := range k.Keys() {
		known[key] = true
	}
	if src.File != "" {
		fk, err := loadFile(src.File, known)
		if err != nil {
			return Config{}, err
		}
		if err := k.Merge(fk); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", src.File, err)
		}
	}
	environ := src.Environ
	if environ == nil {
		environ = os.Environ
	}
	ek, err := loadEnv(environ, known)
	if err != nil {
		return Config{}, err
	}
	if err := k.Merge(ek); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	flags := map[string]any{}
	for _, f := range src.Flags {
		if !known[f.Key] {
			return Config{}, fmt.Errorf("flag --%s sets %s, which is not a configuration key", f.Name, f.Key)
		}
		if err := checkValue(f.Key, f.Value); err != nil {
			return Config{}, fmt.Errorf("--%s (%s): %w", f.Name, f.Key, err)
		}
		flags[f.Key] = f.Value
	}
	if err := k.Load(confmap.Provider(flags, "."), nil); err != nil {
		return Config{}, fmt.Errorf("flags: %w", err)
	}

	var c Config
	if err := decode(k.Raw(), &c); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	c.Processor.Brokers = slices.Clone(c.Kafka.Brokers)
	c.Processor.SinkBatch = c.ClickHouse.Batch
	if err := c.Validate(); err != nil {
		// Name the flag when one set the invalid key.
		for _, f := range src.Flags {
			if rest, ok := strings.CutPrefix(err.Error(), f.Key+": "); ok {
				return Config{}, fmt.Errorf("--%s (%s): %s", f.Name, f.Key, rest)
			}
		}
		return Config{}, err
	}
	return c, nil
}

// defaultsLayer returns c as a koanf layer: its keys are every key of
// Config.
func defaultsLayer(c Config) (*koanf.Koanf, error) {
	data, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(data), kyaml.Parser()); err != nil {
		return nil, err
	}
	return k, nil
}

// loadFile reads the YAML file at path as a layer, checking its keys and
// values.
func loadFile(path string, known map[string]bool) (*koanf.Koanf, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(data), kyaml.Parser()); err != nil {
		return nil, fmt.Errorf("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc) // parsed above; only for line numbers
	where := func(key string) string {
		if line := lineOf(&doc, strings.Split(key, ".")); line > 0 {
			return fmt.Sprintf("config file %s, line %d", path, line)
		}
		return "config file " + path
	}
	for _, key := range sortedKeys(k) {
		v := k.Get(key)
		if v == nil {
			k.Delete(key) // an empty key sets nothing
			continue
		}
		if err := checkKey(key, known); err != nil {
			return nil, fmt.Errorf("%s: %w", where(key), err)
		}
		if err := checkValue(key, v); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where(key), key, err)
		}
	}
	return k, nil
}

// loadEnv reads the DRIVETRAIN_* variables of known keys as a layer.
// Other DRIVETRAIN_* variables (the log level, test settings) are left
// alone.
func loadEnv(environ func() []string, known map[string]bool) (*koanf.Koanf, error) {
	keyOf := map[string]string{}
	for key := range known {
		keyOf[EnvName(key)] = key
	}
	vars := map[string]string{}
	for _, kv := range environ() {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, EnvPrefix) && v != "" {
			vars[name] = v
		}
	}
	for name := range vars {
		for old, now := range removedKeys {
			if name == EnvName(old) || strings.HasPrefix(name, EnvName(old)+"_") {
				return nil, fmt.Errorf("environment variable %s: %s is no longer read; set %s (%s)", name, old, now, EnvName(now))
			}
		}
	}
	for short, key := range shortEnv {
		long := EnvName(key)
		sv, hasShort := vars[short]
		lv, hasLong := vars[long]
		if hasShort && hasLong && sv != lv {
			return nil, fmt.Errorf("environment variables %s=%q and %s=%q both set %s: unset one", long, lv, short, sv, key)
		}
		if hasShort {
			keyOf[short] = key
		}
	}
	var bad error
	k := koanf.New(".")
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return flatten(vars) },
		TransformFunc: func(name, v string) (string, any) {
			key, ok := keyOf[name]
			if !ok {
				return "", nil
			}
			if err := checkValue(key, v); err != nil && bad == nil {
				bad = fmt.Errorf("environment variable %s (%s): %w", name, key, err)
			}
			return key, v
		},
	})
	if err := k.Load(p, nil); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	return k, bad
}

func flatten(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for name, v := range vars {
		out = append(out, name+"="+v)
	}
	slices.Sort(out)
	return out
}

// checkKey accepts a known key and explains why another is refused.
func checkKey(key string, known map[string]bool) error {
	if known[key] {
		return nil
	}
	for old, now := range removedKeys {
		if key == old || strings.HasPrefix(key, old+".") {
			return fmt.Errorf("%s is no longer read; set %s instead", old, now)
		}
	}
	for k := range known {
		if strings.HasPrefix(k, key+".") {
			return fmt.Errorf("%s is a section, not a value", key)
		}
	}
	return fmt.Errorf("unknown key %s", key)
}

// checkValue decodes v as the value of key alone, so that a bad value is
// reported with the source that set it.
func checkValue(key string, v any) error {
	parts := strings.Split(key, ".")
	var m any = v
	for i := len(parts) - 1; i >= 0; i-- {
		m = map[string]any{parts[i]: m}
	}
	var c Config
	err := decode(m, &c)
	var ve *valueError
	var de *mapstructure.DecodeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &de):
		return de.Unwrap()
	}
	return err
}

// decode decodes a nested map of keys into out (a *Config), by the keys'
// yaml tags.
func decode(in any, out any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "yaml",
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		DecodeHook:       parseValue,
		Result:           out,
	})
	if err != nil {
		return err
	}
	return d.Decode(in)
}

// valueError is a value that does not fit its key's type.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

var durationType = reflect.TypeOf(time.Duration(0))

// parseValue converts the text of environment variables and flags (and
// YAML scalars) to the type of their field, with errors that say what
// was expected. A duration must have a unit: a bare number in YAML would
// otherwise be nanoseconds.
func parseValue(from, to reflect.Type, data any) (any, error) {
	if to == durationType {
		switch v := data.(type) {
		case string:
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return nil, &valueError{fmt.Sprintf("want a duration such as 500ms or 2m, got %q", v)}
			}
			return d, nil
		case int, int64, uint64, float64:
			if fmt.Sprint(v) == "0" {
				return time.Duration(0), nil
			}
			return nil, &valueError{fmt.Sprintf("want a duration with a unit such as 500ms or 2m, got %v", v)}
		}
		return data, nil
	}
	s, ok := data.(string)
	if !ok || from.Kind() != reflect.String {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Slice:
		if to.Elem().Kind() != reflect.String {
			return data, nil
		}
		items := []string{}
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return items, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, &valueError{fmt.Sprintf("want true or false, got %q", s)}
		}
		return b, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, to.Bits())
		if err != nil {
			return nil, &valueError{fmt.Sprintf("want an integer, got %q", s)}
		}
		return n, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, to.Bits())
		if err != nil {
			return nil, &valueError{fmt.Sprintf("want a non-negative integer, got %q", s)}
		}
		return n, nil
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), to.Bits())
		if err != nil {
			return nil, &valueError{fmt.Sprintf("want a number, got %q", s)}
		}
		return x, nil
	}
	return data, nil
}

func sortedKeys(k *koanf.Koanf) []string {
	keys := k.Keys()
	slices.Sort(keys)
	return keys
}

// lineOf returns the line of the key at path in a YAML document, 0 when
// it is not there.
func lineOf(doc *yaml.Node, path []string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
