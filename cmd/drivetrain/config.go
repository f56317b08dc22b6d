package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Configuration of long-running commands (run, replay) comes from, in
// increasing precedence: the defaults of each package's Config, the YAML
// file of --config, DRIVETRAIN_* environment variables, and flags.
//
// Every leaf field of the config has an environment variable named after
// its YAML path: DRIVETRAIN_ + the path's keys joined by "_" in upper case
// (kafka.brokers is DRIVETRAIN_KAFKA_BROKERS, clickhouse.batch.max_rows is
// DRIVETRAIN_CLICKHOUSE_BATCH_MAX_ROWS). Lists are comma-separated,
// durations Go durations ("200ms").

// loadYAML decodes the file at path into cfg, rejecting unknown keys; the
// error names the file, line and key.
func loadYAML(path string, cfg any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && err.Error() != "EOF" {
		return fmt.Errorf("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// envOverrides sets every field of cfg (a pointer to a struct) whose
// environment variable is set; aliases maps extra variable names to YAML
// paths (for the short names the other commands use). The error names the
// variable.
func envOverrides(cfg any, aliases map[string]string) error {
	byPath := map[string]string{}
	for env, path := range aliases {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			byPath[path] = env
		}
	}
	return walkConfig(reflect.ValueOf(cfg).Elem(), nil, func(path []string, f reflect.Value) error {
		p := strings.Join(path, ".")
		name := "DRIVETRAIN_" + strings.ToUpper(strings.Join(path, "_"))
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			alias, has := byPath[p]
			if !has {
				return nil
			}
			name, v = alias, os.Getenv(alias)
		}
		if err := setFromString(f, v); err != nil {
			return fmt.Errorf("environment variable %s (%s): %w", name, p, err)
		}
		return nil
	})
}

// walkConfig calls fn for every settable leaf field of v with its YAML path.
func walkConfig(v reflect.Value, path []string, fn func(path []string, f reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := strings.Split(sf.Tag.Get("yaml"), ",")[0]
		f := v.Field(i)
		if sf.IsExported() && strings.Contains(sf.Tag.Get("yaml"), ",inline") && f.Kind() == reflect.Struct {
			if err := walkConfig(f, path, fn); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() || tag == "-" || tag == "" {
			continue
		}
		p := append(append([]string(nil), path...), tag)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
			if err := walkConfig(f, p, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(p, f); err != nil {
			return err
		}
	}
	return nil
}

func setFromString(f reflect.Value, s string) error {
	if f.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration such as 500ms or 2m, got %q", s)
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a non-negative integer, got %q", s)
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		f.SetFloat(x)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", f.Type())
		}
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// secretKeys are YAML keys whose values --print-config masks.
var secretKeys = map[string]bool{"password": true, "sasl_password": true, "key": true, "secret": true, "token": true}

// maskedYAML renders cfg as YAML with secrets replaced by "****": fields
// named in secretKeys and the password of URL-valued strings.
func maskedYAML(cfg any) ([]byte, error) {
	var node yaml.Node
	if err := node.Encode(cfg); err != nil {
		return nil, err
	}
	maskNode(&node)
	return yaml.Marshal(&node)
}

func maskNode(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && secretKeys[k.Value] && v.Value != "" {
				v.Value, v.Tag, v.Style = "****", "!!str", 0
				continue
			}
			maskNode(v)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "://") {
		if u, err := url.Parse(n.Value); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
				n.Value = u.String()
			}
		}
		return
	}
	for _, c := range n.Content {
		maskNode(c)
	}
}
