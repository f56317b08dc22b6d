package config

import (
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// secretKeys are the keys whose values MaskedYAML hides.
var secretKeys = map[string]bool{"password": true, "sasl_password": true, "key": true, "secret": true, "token": true}

// Effective returns c with the defaults of the processor and the
// ClickHouse sink filled in: what a node runs with.
func (c Config) Effective() Config {
	c.Processor = c.Processor.WithDefaults()
	c.ClickHouse = c.ClickHouse.WithDefaults()
	c.Processor.Brokers = c.Kafka.Brokers
	c.Processor.SinkBatch = c.ClickHouse.Batch
	return c
}

// MaskedYAML renders c as YAML with its secrets replaced by "****": the
// values of password keys and the password of URL-valued strings (which
// becomes "xxxxx").
func (c Config) MaskedYAML() ([]byte, error) {
	var node yaml.Node
	if err := node.Encode(c); err != nil {
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
	if n.Kind == yaml.ScalarNode {
		n.Value = MaskURL(n.Value)
		return
	}
	for _, c := range n.Content {
		maskNode(c)
	}
}

// MaskURL returns s with the password of a URL replaced by "xxxxx"; other
// strings are returned as they are.
func MaskURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	return u.String()
}

// Value returns the value of key in c as text, as a flag or an
// environment variable would set it (lists comma-separated, durations as
// Go durations); "" for a key c does not have.
func (c Config) Value(key string) string {
	k, err := defaultsLayer(c)
	if err != nil {
		return ""
	}
	switch v := k.Get(key).(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, it := range v {
			parts[i] = fmt.Sprint(it)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}
