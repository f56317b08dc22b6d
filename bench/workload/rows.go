package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Row generators: pure functions of a random source, an id and a base time.
// Values that must be unique (customers.email, vehicles.vin) embed the row's
// id, which PostgreSQL's sequence made unique, so they stay unique across
// runs and seeds without a look-up.

type segment uint8

const (
	retail segment = iota
	business
	fleet
)

var segmentNames = [...]string{"retail", "business", "fleet"}

type condition uint8

const (
	condNew condition = iota
	condUsed
	condCertified
)

var conditionNames = [...]string{"new", "used", "certified"}

type stock uint8

const (
	available stock = iota
	reserved
	sold
)

var stockNames = [...]string{"available", "reserved", "sold"}

// customerRow is a customers row as inserted.
type customerRow struct {
	id                         int64
	email, firstName, lastName string
	phone                      *string
	country, city              int // indexes into countries and its cities
	region                     *string
	segment                    segment
	birthDate                  *time.Time
	createdAt, updatedAt       time.Time
}

// vehicleRow is a vehicles row as inserted.
type vehicleRow struct {
	id                       int64
	vin                      string
	spec                     int // index into models
	modelYear                int
	body, fuel, transmission string
	color                    *string
	mileageKm                int
	condition                condition
	listPrice                int64  // cents
	costPrice                *int64 // cents
	stock                    stock
	features                 []byte // JSON; nil for NULL
	large                    bool   // features is a large (TOASTed) document
	createdAt, updatedAt     time.Time
}

// pickWeighted returns an index into weights with probability proportional
// to its weight.
func pickWeighted(r randSource, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	panic("workload: pickWeighted: unreachable")
}

func pick[T any](r randSource, s []T) T { return s[r.IntN(len(s))] }

func digits(r randSource, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

var countryWeights = func() []int {
	w := make([]int, len(countries))
	for i, c := range countries {
		w[i] = c.weight
	}
	return w
}()

// newCustomer generates customer id; now is the reference time (creation
// dates lie up to three years before it).
func newCustomer(r randSource, id int64, now time.Time) customerRow {
	ci := pickWeighted(r, countryWeights)
	c := &countries[ci]
	row := customerRow{
		id:        id,
		country:   ci,
		city:      r.IntN(len(c.cities)),
		firstName: pick(r, c.firstNames),
		lastName:  pick(r, c.lastNames),
		segment:   segment(pickWeighted(r, []int{80, 15, 5})),
	}
	if r.IntN(100) >= 3 { // a few addresses were never assigned a region
		region := c.cities[row.city].region
		row.region = &region
	}
	if r.IntN(100) >= 20 {
		p := c.phone(r)
		row.phone = &p
	}
	row.email = email(r, row.firstName, row.lastName, row.segment, id)
	if row.segment == retail && r.IntN(100) >= 10 || row.segment != retail && r.IntN(100) < 15 {
		age := 18 + r.IntN(63)
		bd := time.Date(now.Year()-age, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		row.birthDate = &bd
	}
	row.createdAt = now.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
	row.updatedAt = row.createdAt
	if r.IntN(3) == 0 {
		row.updatedAt = row.createdAt.Add(time.Duration(r.Int64N(int64(now.Sub(row.createdAt)) + 1))).Truncate(time.Microsecond)
	}
	return row
}

// email builds a unique address: the id makes it unique, the names make it
// look real. Business and fleet customers use a company domain.
func email(r randSource, first, last string, seg segment, id int64) string {
	f, l := asciiFold(first), asciiFold(last)
	idStr := strconv.FormatInt(id, 10)
	switch seg {
	case business, fleet:
		return f + "." + l + "@" + l + "-" + pick(r, companySuffixes) + "-" + idStr + ".example"
	}
	sep := pick(r, []string{".", "_", ""})
	return f + sep + l + idStr + "@" + pick(r, emailDomains)
}

var foldMap = map[rune]string{
	'á': "a", 'à': "a", 'â': "a", 'ä': "ae", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'í': "i", 'ì': "i",
	'î': "i", 'ï': "i", 'ó': "o", 'ò': "o", 'ô': "o", 'ö': "oe", 'ú': "u", 'ù': "u", 'û': "u", 'ü': "ue",
	'ñ': "n", 'ç': "c", 'ß': "ss", 'š': "s", 'Š': "s", 'Á': "a", 'É': "e", 'Í': "i", 'Ó': "o", 'Ú': "u",
	'Ä': "ae", 'Ö': "oe", 'Ü': "ue", 'Ñ': "n", 'Ç': "c", 'Î': "i", 'Ô': "o", 'Ł': "l", 'ł': "l",
}

// asciiFold lowercases s and keeps only what an e-mail local part and a
// domain label may hold.
func asciiFold(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		default:
			b.WriteString(foldMap[c]) // apostrophes, spaces and unknown letters vanish
		}
	}
	return b.String()
}

const vinAlphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789" // VINs never use I, O, Q

// vinYearCodes maps model years from 2010 on to VIN position 10 (the code
// cycle repeats every 30 years).
const vinYearCodes = "ABCDEFGHJKLMNPRSTVWXY123456789"

// vin builds a 17-character VIN: the make's WMI, a vehicle descriptor drawn
// at random, the check digit (position 9, North American rule), the model
// year code, and a plant code and serial number that encode id, so VINs are
// unique for ids below 33 million.
func vin(r randSource, wmi string, year int, id int64) string {
	b := []byte(wmi)
	for range 5 { // vehicle descriptor section, positions 4-8
		b = append(b, vinAlphabet[r.IntN(len(vinAlphabet))])
	}
	b = append(b, '0') // check digit, computed below
	b = append(b, vinYearCodes[((year-2010)%30+30)%30])
	b = append(b, vinAlphabet[(id/1_000_000)%int64(len(vinAlphabet))])
	b = append(b, fmt.Sprintf("%06d", id%1_000_000)...)
	b[8] = vinCheckDigit(b)
	return string(b)
}

func vinCheckDigit(v []byte) byte {
	const weights = "8765432X098765432"
	sum := 0
	for i, c := range v {
		if i == 8 {
			continue
		}
		var val int
		switch {
		case c >= '0' && c <= '9':
			val = int(c - '0')
		default:
			val = vinTransliteration[c-'A']
		}
		w := int(weights[i] - '0')
		if weights[i] == 'X' {
			w = 10
		}
		sum += val * w
	}
	if sum%11 == 10 {
		return 'X'
	}
	return byte('0' + sum%11)
}

// vinTransliteration gives the value of letters A..Z in the check digit.
var vinTransliteration = [26]int{1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 0, 7, 0, 9, 2, 3, 4, 5, 6, 7, 8, 9}

// newVehicle generates vehicle id. About one in twenty gets a large features
// document (6-20 KB) that PostgreSQL stores out of line (TOAST).
func newVehicle(r randSource, id int64, now time.Time) vehicleRow {
	si := r.IntN(len(models))
	spec := &models[si]
	row := vehicleRow{
		id:        id,
		spec:      si,
		body:      pick(r, spec.bodies),
		fuel:      pick(r, spec.fuels),
		condition: condition(pickWeighted(r, []int{50, 40, 10})),
	}
	current := now.Year()
	if row.condition == condNew {
		row.modelYear = current + r.IntN(2) - r.IntN(2)
		row.mileageKm = r.IntN(60)
	} else {
		oldest := max(spec.firstYear, current-12)
		row.modelYear = oldest + r.IntN(current-oldest+1)
		age := current - row.modelYear + 1
		row.mileageKm = age * (6000 + r.IntN(16000))
		if row.condition == condCertified {
			row.mileageKm = min(row.mileageKm, 90000+r.IntN(10000))
		}
	}
	row.modelYear = max(row.modelYear, spec.firstYear)
	row.vin = vin(r, spec.wmi, row.modelYear, id)
	switch {
	case row.fuel == "electric":
		row.transmission = "automatic"
	case r.IntN(100) < 55:
		row.transmission = "automatic"
	default:
		row.transmission = "manual"
	}
	if r.IntN(100) >= 3 {
		c := pick(r, colors)
		row.color = &c
	}
	row.listPrice = vehiclePrice(r, spec, row.condition, current-row.modelYear)
	if r.IntN(100) >= 10 { // trade-ins not yet appraised have no cost price
		cost := row.listPrice * int64(78+r.IntN(15)) / 100
		row.costPrice = &cost
	}
	row.stock = stock(pickWeighted(r, []int{85, 10, 5}))
	row.large = r.IntN(20) == 0
	if row.large || r.IntN(100) >= 3 {
		row.features = features(r, row, row.large)
	}
	row.createdAt = now.Add(-time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))).Truncate(time.Microsecond)
	row.updatedAt = row.createdAt
	return row
}

// vehiclePrice returns a list price in cents: the model's base price, a trim
// premium, and depreciation by age for used vehicles, rounded to 10 units.
func vehiclePrice(r randSource, spec *modelSpec, cond condition, age int) int64 {
	p := float64(spec.basePrice) * (0.95 + 0.35*r.Float64())
	if cond != condNew {
		for range max(age, 0) + 1 {
			p *= 0.84 + 0.04*r.Float64()
		}
		if cond == condCertified {
			p *= 1.06
		}
	}
	return max(int64(p/10)*10, 500) * 100
}

// featureDoc is the vehicles.features document. Field order is fixed
// (struct), so the JSON text is a pure function of the random sequence.
type featureDoc struct {
	Trim           string         `json:"trim"`
	Doors          int            `json:"doors"`
	Seats          int            `json:"seats"`
	Drive          string         `json:"drive"`
	Engine         *engineDoc     `json:"engine,omitempty"`
	Battery        *batteryDoc    `json:"battery,omitempty"`
	Options        []string       `json:"options"`
	WarrantyMonths int            `json:"warranty_months"`
	Packages       []packageDoc   `json:"option_packages,omitempty"`
	Equipment      []equipmentDoc `json:"equipment,omitempty"`
	ServiceHistory []serviceDoc   `json:"service_history,omitempty"`
	Inspection     *inspectionDoc `json:"inspection,omitempty"`
	Notes          string         `json:"dealer_notes,omitempty"`
}

type engineDoc struct {
	DisplacementL float64 `json:"displacement_l"`
	PowerKW       int     `json:"power_kw"`
	Cylinders     int     `json:"cylinders"`
	EmissionClass string  `json:"emission_class"`
}

type batteryDoc struct {
	CapacityKWh int `json:"capacity_kwh"`
	RangeKm     int `json:"range_km"`
	MaxChargeKW int `json:"max_charge_kw"`
}

type packageDoc struct {
	Code  string   `json:"code"`
	Name  string   `json:"name"`
	Items []string `json:"items"`
	Price float64  `json:"price_eur"`
}

type equipmentDoc struct {
	Code        string `json:"code"`
	Category    string `json:"category"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type serviceDoc struct {
	Date     string   `json:"date"`
	Km       int      `json:"km"`
	Workshop string   `json:"workshop"`
	Work     string   `json:"work"`
	Invoice  string   `json:"invoice"`
	Parts    []string `json:"parts"`
}

type inspectionDoc struct {
	Grade    string         `json:"grade"`
	Scores   map[string]int `json:"scores"`
	Findings []string       `json:"findings"`
}

// features builds the features document of v. A large one carries option
// packages, coded equipment with free-text descriptions, service history
// and an inspection report: 6-20 KB of varied text and codes that compress
// poorly, so PostgreSQL moves it out of line (TOAST) instead of compressing
// it into the row.
func features(r randSource, v vehicleRow, large bool) []byte {
	d := featureDoc{
		Trim:           pick(r, trims),
		Doors:          pick(r, []int{3, 5, 5, 5, 4}),
		Seats:          pick(r, []int{5, 5, 5, 7, 4, 2}),
		Drive:          pick(r, []string{"fwd", "fwd", "rwd", "awd"}),
		WarrantyMonths: pick(r, []int{0, 12, 24, 36, 60, 84}),
	}
	if v.fuel == "electric" {
		kwh := 40 + r.IntN(65)
		d.Battery = &batteryDoc{CapacityKWh: kwh, RangeKm: kwh*5 + r.IntN(80), MaxChargeKW: pick(r, []int{50, 100, 135, 170, 250, 270})}
	} else {
		d.Engine = &engineDoc{
			DisplacementL: float64(10+r.IntN(21)) / 10,
			PowerKW:       60 + r.IntN(200),
			Cylinders:     pick(r, []int{3, 4, 4, 4, 6}),
			EmissionClass: pick(r, []string{"Euro 6d", "Euro 6d-TEMP", "Euro 6c", "Euro 5", "EPA Tier 3"}),
		}
	}
	n := 4 + r.IntN(9)
	seen := make([]bool, len(options))
	for range n {
		i := r.IntN(len(options))
		if !seen[i] {
			seen[i] = true
			d.Options = append(d.Options, options[i])
		}
	}
	if !large {
		return mustJSON(d)
	}
	target := 6*1024 + r.IntN(14*1024)
	for range 2 + r.IntN(4) {
		p := packageDoc{Code: "P" + code(r, 3), Name: pick(r, trims) + " " + pick(r, equipmentCategories) + " package", Price: float64(200+r.IntN(4800)) + float64(r.IntN(100))/100}
		for range 3 + r.IntN(6) {
			p.Items = append(p.Items, pick(r, options))
		}
		d.Packages = append(d.Packages, p)
	}
	d.Inspection = &inspectionDoc{
		Grade:  pick(r, []string{"A", "B", "B", "C"}),
		Scores: map[string]int{"mechanical": 60 + r.IntN(41), "electrical": 60 + r.IntN(41), "cosmetic": 50 + r.IntN(51), "interior": 55 + r.IntN(46)},
	}
	for range 3 + r.IntN(6) {
		d.Inspection.Findings = append(d.Inspection.Findings, sentence(r, 8, 20))
	}
	d.Notes = sentence(r, 30, 80)
	km := 0
	day := time.Date(v.modelYear, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	size := len(mustJSON(d))
	for size < target {
		if v.condition != condNew && r.IntN(3) == 0 {
			km += 8000 + r.IntN(15000)
			day = day.AddDate(0, 6+r.IntN(10), r.IntN(28))
			s := serviceDoc{
				Date: day.Format("2006-01-02"), Km: km,
				Workshop: pick(r, countries[r.IntN(len(countries))].cities).name + " " + pick(r, []string{"Auto Service", "Motor Works", "Garage", "Car Care", "Service Centre"}),
				Work:     sentence(r, 10, 30),
				Invoice:  "INV-" + code(r, 10),
			}
			for range 1 + r.IntN(5) {
				s.Parts = append(s.Parts, code(r, 4)+"-"+code(r, 6))
			}
			d.ServiceHistory = append(d.ServiceHistory, s)
			size += 150 + len(s.Work) + 12*len(s.Parts)
			continue
		}
		e := equipmentDoc{
			Code:        "S" + code(r, 4) + "-" + code(r, 6),
			Category:    pick(r, equipmentCategories),
			Name:        pick(r, options),
			Description: sentence(r, 12, 40),
		}
		d.Equipment = append(d.Equipment, e)
		size += 80 + len(e.Name) + len(e.Description) + len(e.Code)
	}
	return mustJSON(d)
}

// code returns n random characters from the VIN alphabet: part numbers and
// invoice numbers that do not compress.
func code(r randSource, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = vinAlphabet[r.IntN(len(vinAlphabet))]
	}
	return string(b)
}

// sentence returns lo..hi words from the vocabulary, sprinkled with
// measurements and part numbers.
func sentence(r randSource, lo, hi int) string {
	var b strings.Builder
	n := lo + r.IntN(hi-lo+1)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch r.IntN(9) {
		case 0:
			b.WriteString(strconv.Itoa(r.IntN(100000)))
			b.WriteString(pick(r, []string{" km", " mm", "%", " Nm", " kPa", ""}))
		case 1:
			b.WriteString(code(r, 3+r.IntN(6)))
		default:
			b.WriteString(pick(r, vocabulary))
		}
	}
	b.WriteByte('.')
	return b.String()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("workload: marshalling features: " + err.Error())
	}
	return b
}

// newRand returns the generator's random source for one stream of a seed:
// PCG seeded with (seed, stream). Streams keep the catalogue and the steady
// mix independent of each other.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream^0x9e3779b97f4a7c15))
}
