package workload

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var refTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestVINs(t *testing.T) {
	r := newRand(1, 1)
	seen := make(map[string]int64)
	for id := int64(1); id <= 50_000; id++ {
		spec := &models[r.IntN(len(models))]
		v := vin(r, spec.wmi, 2012+r.IntN(15), id*37) // sparse ids, as after deletes and other writers
		require.Len(t, v, 17)
		require.Equal(t, -1, strings.IndexFunc(v, func(c rune) bool { return !strings.ContainsRune(vinAlphabet, c) }), "VIN %s has a forbidden character", v)
		assert.Equal(t, vinCheckDigit([]byte(v)), v[8], "check digit of %s", v)
		if prev, dup := seen[v]; dup {
			t.Fatalf("VIN %s generated for ids %d and %d", v, prev, id*37)
		}
		seen[v] = id * 37
	}
}

func TestVINCheckDigit(t *testing.T) {
	// Examples with published check digits.
	for _, v := range []string{"1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352"} {
		assert.Equal(t, v[8], vinCheckDigit([]byte(v)), v)
	}
}

func TestEmailsUnique(t *testing.T) {
	r := newRand(2, 1)
	seen := make(map[string]bool)
	for id := int64(1); id <= 50_000; id++ {
		c := newCustomer(r, id, refTime)
		require.False(t, seen[c.email], "duplicate e-mail %s", c.email)
		seen[c.email] = true
		local, domain, ok := strings.Cut(c.email, "@")
		require.True(t, ok, c.email)
		assert.NotEmpty(t, local)
		assert.Contains(t, domain, ".")
		for _, ch := range c.email {
			assert.True(t, ch < 128, "non-ASCII address %q", c.email)
		}
	}
}

func TestAsciiFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Íñigo", "inigo"},
		{"Müller", "mueller"},
		{"O'Brien", "obrien"},
		{"Lefèvre", "lefevre"},
		{"Schäfer", "schaefer"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, asciiFold(tt.in))
	}
}

func TestCustomerRealism(t *testing.T) {
	r := newRand(3, 1)
	var noPhone, noBirth, fleets int
	const n = 5000
	for id := int64(1); id <= n; id++ {
		c := newCustomer(r, id, refTime)
		assert.NotEmpty(t, c.firstName)
		assert.Len(t, countries[c.country].code, 2)
		assert.False(t, c.createdAt.After(refTime))
		assert.False(t, c.updatedAt.Before(c.createdAt))
		if c.phone == nil {
			noPhone++
		}
		if c.birthDate == nil {
			noBirth++
		} else {
			age := refTime.Sub(*c.birthDate).Hours() / 24 / 365
			assert.True(t, age > 17 && age < 82, "age %v", age)
		}
		if c.segment == fleet {
			fleets++
		}
	}
	assert.InDelta(t, 0.20, float64(noPhone)/n, 0.03, "share without phone")
	assert.Greater(t, noBirth, 0)
	assert.InDelta(t, 0.05, float64(fleets)/n, 0.015, "share of fleet customers")
}

func TestVehicleFeatures(t *testing.T) {
	r := newRand(4, 1)
	var large, null int
	const n = 2000
	for id := int64(1); id <= n; id++ {
		v := newVehicle(r, id, refTime)
		assert.Positive(t, v.listPrice)
		assert.Zero(t, v.listPrice%100, "list price %d not whole units", v.listPrice)
		if v.costPrice != nil {
			assert.Less(t, *v.costPrice, v.listPrice)
		}
		assert.LessOrEqual(t, v.modelYear, refTime.Year()+1)
		if v.fuel == "electric" {
			assert.Equal(t, "automatic", v.transmission)
		}
		if v.features == nil {
			null++
			continue
		}
		require.True(t, json.Valid(v.features))
		if !v.large {
			assert.Less(t, len(v.features), 2000, "small features document")
			continue
		}
		large++
		assert.GreaterOrEqual(t, len(v.features), 6*1024)
		assert.LessOrEqual(t, len(v.features), 21*1024)
		// PostgreSQL compresses with pglz before moving a value out of line;
		// deflate compresses better, so this bounds what pglz achieves.
		assert.Greater(t, deflated(t, v.features), 2048, "large features must stay over the TOAST threshold once compressed")
	}
	assert.InDelta(t, 0.05, float64(large)/n, 0.015, "share of large features")
	assert.Positive(t, null)
}

func deflated(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Len()
}
