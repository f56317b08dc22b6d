package topologytest

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// ColumnNames returns the column names of t in column order (the field
// order of its struct in topology/rows.go, snake_cased: "order_id").
func ColumnNames(t topology.Table) []string {
	r := topology.Row{Table: t}
	v := rowValue(&r)
	if !v.IsValid() {
		return nil
	}
	names := make([]string, v.NumField())
	for i := range names {
		names[i] = snake(v.Type().Field(i).Name)
	}
	return names
}

// ColumnNumber returns the number of the named column of t.
func ColumnNumber(t topology.Table, name string) (int, bool) {
	for i, n := range ColumnNames(t) {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// snake turns a Go field name into its column name: "CustomerID" →
// "customer_id", "VIN" → "vin", "MileageKm" → "mileage_km".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prev := s[i-1]
			if prev >= 'a' && prev <= 'z' {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rowValue returns the struct of r's table, addressable.
func rowValue(r *topology.Row) reflect.Value {
	switch r.Table {
	case topology.TableCustomers:
		return reflect.ValueOf(&r.Customer).Elem()
	case topology.TableVehicles:
		return reflect.ValueOf(&r.Vehicle).Elem()
	case topology.TableOrders:
		return reflect.ValueOf(&r.Order).Elem()
	case topology.TableOrderItems:
		return reflect.ValueOf(&r.Item).Elem()
	case topology.TablePayments:
		return reflect.ValueOf(&r.Payment).Elem()
	}
	return reflect.Value{}
}

// FormatRow formats the columns of r as "name=value" pairs in column
// order, values as FormatValue writes them.
func FormatRow(r *topology.Row) string {
	v := rowValue(r)
	names := ColumnNames(r.Table)
	var b strings.Builder
	for i := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(names[i])
		b.WriteByte('=')
		b.WriteString(formatValue(v.Field(i)))
	}
	return b.String()
}

// SetColumn parses value (as FormatRow writes it) into the named column
// of r.
func SetColumn(r *topology.Row, name, value string) error {
	n, ok := ColumnNumber(r.Table, name)
	if !ok {
		return fmt.Errorf("no column %q in %s", name, r.Table)
	}
	if err := parseValue(rowValue(r).Field(n), value); err != nil {
		return fmt.Errorf("parsing %s.%s: %w", r.Table, name, err)
	}
	return nil
}

// ClearColumn sets the numbered column of r to its zero value (NULL for a
// nullable column).
func ClearColumn(r *topology.Row, n int) {
	f := rowValue(r).Field(n)
	f.Set(reflect.Zero(f.Type()))
}

var (
	decimalType   = reflect.TypeFor[topology.Decimal]()
	timestampType = reflect.TypeFor[topology.Timestamp]()
	dateType      = reflect.TypeFor[topology.Date]()
)

func formatValue(v reflect.Value) string {
	switch v.Type() {
	case decimalType:
		return v.Interface().(topology.Decimal).String()
	case timestampType:
		return v.Interface().(topology.Timestamp).Time().Format(time.RFC3339Nano)
	case dateType:
		return v.Interface().(topology.Date).String()
	}
	switch v.Kind() {
	case reflect.String:
		return quote(v.String())
	case reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case reflect.Struct:
		if valid := v.FieldByName("Valid"); valid.IsValid() {
			if !valid.Bool() {
				return "NULL"
			}
			return formatValue(v.FieldByName("V"))
		}
	}
	panic("topologytest: cannot format " + v.Type().String())
}

// quote leaves simple strings bare and quotes the others (Go syntax), so
// that "NULL" and "" stay distinct from NULL.
func quote(s string) string {
	if s == "" || s == "NULL" {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@._:+-/", r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func parseValue(v reflect.Value, s string) error {
	switch v.Type() {
	case decimalType:
		d, err := ParseDecimal(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(d))
		return nil
	case timestampType:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(topology.TimestampOf(t)))
		return nil
	case dateType:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(topology.Date(t.Unix() / 86400)))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if strings.HasPrefix(s, `"`) {
			u, err := strconv.Unquote(s)
			if err != nil {
				return err
			}
			s = u
		}
		v.SetString(s)
		return nil
	case reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
		return nil
	case reflect.Struct:
		if valid := v.FieldByName("Valid"); valid.IsValid() {
			v.Set(reflect.Zero(v.Type()))
			if s == "NULL" {
				return nil
			}
			if err := parseValue(v.FieldByName("V"), s); err != nil {
				return err
			}
			v.FieldByName("Valid").SetBool(true)
			return nil
		}
	}
	return fmt.Errorf("cannot parse into %s", v.Type())
}

// ParseDecimal parses "-12.50" into a Decimal whose scale is the number
// of digits after the point.
func ParseDecimal(s string) (topology.Decimal, error) {
	digits, frac, _ := strings.Cut(s, ".")
	u, err := strconv.ParseInt(digits+frac, 10, 64)
	if err != nil {
		return topology.Decimal{}, fmt.Errorf("parsing decimal %q: %w", s, err)
	}
	return topology.NewDecimal(u, int32(len(frac))), nil
}

// MustDecimal is ParseDecimal for literals in tests; it panics on error.
func MustDecimal(s string) topology.Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// factGroups splits the fact columns into the lines of FormatFact.
var factGroups = []struct {
	label    string
	from, to int
}{
	{"order", 2, 6},
	{"customer", 6, 13},
	{"vehicle", 13, 22},
	{"amounts", 22, 29},
}

// FormatFact formats every column of f: a first line with the key,
// _version, _deleted and updated_at, then one indented line per group of
// columns (order, customer, vehicle, amounts), each ending in "\n".
func FormatFact(f *topology.Fact) string {
	v := reflect.ValueOf(f).Elem()
	col := func(b *strings.Builder, i int) {
		b.WriteString(topology.FactColumns[i])
		b.WriteByte('=')
		b.WriteString(formatValue(v.Field(i)))
	}
	var b strings.Builder
	b.WriteString("fact ")
	for n, i := range []int{0, 1, 30, 31, 29} {
		if n > 0 {
			b.WriteByte(' ')
		}
		col(&b, i)
	}
	b.WriteByte('\n')
	for _, g := range factGroups {
		b.WriteString("  ")
		b.WriteString(g.label)
		b.WriteByte(':')
		for i := g.from; i < g.to; i++ {
			b.WriteByte(' ')
			col(&b, i)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// FormatMirror formats m as one line: table, _version, _deleted, columns.
func FormatMirror(m *topology.Mirror) string {
	del := 0
	if m.Deleted {
		del = 1
	}
	return fmt.Sprintf("mirror %s _version=%d _deleted=%d %s", m.Row.Table, m.Version, del, FormatRow(&m.Row))
}
