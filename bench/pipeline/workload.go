package pipeline

import (
	"math/rand/v2"
	"strconv"
	"time"
	"unsafe"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Reference data. Slices, picked by index: their order is part of the
// deterministic sequence.

type person struct{ first, last, emailFirst, emailLast string }

var people = []person{
	{"María", "García", "maria", "garcia"}, {"José", "Fernández", "jose", "fernandez"},
	{"Lucía", "López", "lucia", "lopez"}, {"Antonio", "Martínez", "antonio", "martinez"},
	{"Anna", "Müller", "anna", "mueller"}, {"Lukas", "Schmidt", "lukas", "schmidt"},
	{"Julia", "Weber", "julia", "weber"}, {"Felix", "Becker", "felix", "becker"},
	{"Camille", "Dubois", "camille", "dubois"}, {"Hugo", "Lefèvre", "hugo", "lefevre"},
	{"Giulia", "Rossi", "giulia", "rossi"}, {"Marco", "Bianchi", "marco", "bianchi"},
	{"Oliver", "Smith", "oliver", "smith"}, {"Amelia", "O'Brien", "amelia", "obrien"},
	{"James", "Johnson", "james", "johnson"}, {"Mary", "Nguyen", "mary", "nguyen"},
	{"Nuno", "Silva", "nuno", "silva"}, {"Inês", "Costa", "ines", "costa"},
}

type place struct{ city, region, country, currency string }

var places = []place{
	{"Madrid", "Comunidad de Madrid", "ES", "EUR"}, {"Barcelona", "Cataluña", "ES", "EUR"},
	{"Sevilla", "Andalucía", "ES", "EUR"}, {"Berlin", "Berlin", "DE", "EUR"},
	{"München", "Bayern", "DE", "EUR"}, {"Hamburg", "", "DE", "EUR"},
	{"Paris", "Île-de-France", "FR", "EUR"}, {"Lyon", "Auvergne-Rhône-Alpes", "FR", "EUR"},
	{"Milano", "Lombardia", "IT", "EUR"}, {"Roma", "Lazio", "IT", "EUR"},
	{"London", "England", "GB", "GBP"}, {"Edinburgh", "Scotland", "GB", "GBP"},
	{"Porto", "", "PT", "EUR"}, {"Lisboa", "Lisboa", "PT", "EUR"},
	{"New York", "NY", "US", "USD"}, {"Seattle", "WA", "US", "USD"},
}

var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example"}

type model struct {
	make, model, wmi, body, fuel, transmission string
	price                                      int64 // new, in cents
}

var models = []model{
	{"Toyota", "Corolla", "SB1", "hatchback", "hybrid", "automatic", 2_700_000},
	{"Toyota", "RAV4", "JTM", "suv", "hybrid", "automatic", 3_800_000},
	{"Volkswagen", "Golf", "WVW", "hatchback", "petrol", "manual", 2_900_000},
	{"Volkswagen", "Passat", "WVW", "estate", "diesel", "automatic", 3_900_000},
	{"Skoda", "Octavia", "TMB", "estate", "diesel", "automatic", 2_800_000},
	{"BMW", "320d", "WBA", "sedan", "diesel", "automatic", 4_600_000},
	{"Mercedes-Benz", "C 200", "WDD", "sedan", "petrol", "automatic", 4_900_000},
	{"Renault", "Clio", "VF1", "hatchback", "petrol", "manual", 1_800_000},
	{"Peugeot", "3008", "VF3", "suv", "plug-in hybrid", "automatic", 3_600_000},
	{"Tesla", "Model 3", "5YJ", "sedan", "electric", "automatic", 4_200_000},
	{"Ford", "Transit Custom", "WF0", "van", "diesel", "manual", 3_700_000},
	{"Fiat", "500", "ZFA", "hatchback", "petrol", "manual", 1_600_000},
}

var colors = []string{"white", "black", "silver", "grey", "blue", "red", "dark blue", "pearl white"}

// features holds small JSONB documents (stored inline, never TOASTed).
var features = []string{
	`{"abs": true, "seats": 5}`,
	`{"tow_bar": true}`,
	`{"seats": 7, "extras": ["navigation", "heated seats"]}`,
	`{"adaptive_cruise": true, "lane_assist": true, "seats": 5}`,
	`{"extras": ["panoramic roof", "winter package"], "warranty_months": 24}`,
}

var (
	conditions    = []string{"new", "used", "certified"}
	stockStatuses = []string{"available", "reserved", "sold"}
	segments      = []string{"retail", "retail", "retail", "retail", "retail", "retail", "retail", "business", "business", "fleet"}
	channels      = []string{"web", "web", "mobile", "dealer"}
	orderStatuses = []string{"pending", "confirmed", "paid", "delivered", "cancelled"}
	payMethods    = []string{"credit_card", "bank_transfer", "financing", "cash"}
	payStatuses   = []string{"pending", "approved", "rejected", "refunded"}
)

const (
	statusPending   = 0
	statusDelivered = 3
	statusCancelled = 4

	payPending  = 0
	payApproved = 1
	payRejected = 2
	payRefunded = 3
)

// The streaming mix, in operations per 84 (about 100 events: a new order
// is its order and 1-3 items). Dimension updates are a fifth of the
// events.
var mix = []struct {
	kind   stepKind
	weight int
}{
	{stepNewOrder, 8},
	{stepOrderUpdate, 20},
	{stepPaymentCreate, 12},
	{stepPaymentUpdate, 13},
	{stepItemUpdate, 8},
	{stepItemDelete, 3},
	{stepCustomerUpdate, 10},
	{stepVehicleUpdate, 10},
}

type stepKind uint8

const (
	stepNone stepKind = iota
	stepNewOrder
	stepOrderCreate // order c of the slot
	stepItemCreate  // item c of the slot, index idx
	stepOrderUpdate
	stepPaymentCreate
	stepPaymentUpdate
	stepItemUpdate
	stepItemDelete
	stepCustomerUpdate
	stepVehicleUpdate
)

const (
	maxItems    = 4
	maxPayments = 3
)

type itemState struct {
	id, vehicle int64
	qty         int32
	price       int64 // cents
	discount    int64 // cents
	live        bool
}

type paymentState struct {
	id      int64
	amount  int64 // cents
	method  uint8
	status  uint8
	paidAt  topology.Timestamp // 0: NULL
	created topology.Timestamp
}

// orderSlot is one order of the active window: recent orders, which the
// streaming mix updates. Fixed-size arrays keep the window allocation-free.
type orderSlot struct {
	id, customer int64
	date         topology.Timestamp
	updated      topology.Timestamp
	status       uint8
	channel      uint8
	currency     string
	nItems       uint8
	items        [maxItems]itemState
	nPayments    uint8
	payments     [maxPayments]paymentState
}

func (s *orderSlot) total() int64 {
	var t int64
	for i := range s.items[:s.nItems] {
		if it := &s.items[i]; it.live {
			t += int64(it.qty)*it.price - it.discount
		}
	}
	return t
}

func (s *orderSlot) liveItems() int {
	n := 0
	for i := range s.items[:s.nItems] {
		if s.items[i].live {
			n++
		}
	}
	return n
}

// genStep is one event to emit.
type genStep struct {
	kind stepKind
	slot int32
	idx  int8
}

// generator produces the Debezium records of a seeded car e-commerce
// history: a snapshot of the catalogue and of the base orders, then the
// streaming mix. Customers and vehicles are functions of their id and a
// per-row version, so that an update's before image is the row's current
// value without storing rows. Orders, items and payments live in a ring of
// active orders; older orders are left alone, as delivered orders are.
// Not safe for concurrent use.
type generator struct {
	rng  *rand.Rand
	r    *renderer
	seed uint64

	customers, vehicles, baseOrders int64
	partitions                      int32
	custVer, vehVer                 []uint8

	window         []orderSlot
	head, filled   int
	nextOrder      int64
	nextItem       int64
	nextPayment    int64
	queue          [maxItems + 1]genStep
	queued, popped int

	lsn, commitLSN, txID int64
	clock                topology.Timestamp // source time, advanced per event
	offsets              [numTables][]int64

	// snapshot progress
	snapTable topology.Table
	snapID    int64

	text      []byte // backing store of generated strings, reset per event
	row, prev topology.Row

	// Counts of the streaming history, for tests.
	itemsCreated, itemsDeleted int64
}

// snapshotStart dates the snapshot; the stream follows it.
var snapshotStart = time.Date(2025, 1, 6, 3, 0, 0, 0, time.UTC)

func newGenerator(r *renderer, seed uint64, customers, vehicles, orders int64, partitions int32, window int) *generator {
	g := &generator{
		rng:         rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		r:           r,
		seed:        seed,
		customers:   customers,
		vehicles:    vehicles,
		baseOrders:  orders,
		partitions:  partitions,
		custVer:     make([]uint8, customers+1),
		vehVer:      make([]uint8, vehicles+1),
		window:      make([]orderSlot, window),
		nextOrder:   1,
		nextItem:    1,
		nextPayment: 1,
		lsn:         80_000_000,
		txID:        1_000,
		clock:       micros(snapshotStart),
		snapTable:   topology.TableCustomers,
		snapID:      1,
		text:        make([]byte, 0, 4096),
	}
	for t := range g.offsets {
		g.offsets[t] = make([]int64, partitions)
	}
	return g
}

// hash mixes an id into well-spread bits (SplitMix64's finalizer), so row
// attributes are stable functions of the id.
func (g *generator) hash(id int64, salt uint64) uint64 {
	z := uint64(id)*0x9e3779b97f4a7c15 + salt + g.seed
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// str returns the bytes appended to g.text since start as a string. The
// text buffer is reset once per event, after the event was rendered; a
// buffer that grows leaves earlier strings on the old array, which they
// keep alive.
func (g *generator) str(start int) string {
	if len(g.text) == start {
		return ""
	}
	return unsafe.String(&g.text[start], len(g.text)-start)
}

// customer returns customer id at version ver.
func (g *generator) customer(id int64, ver uint8) topology.Customer {
	h := g.hash(id, 1)
	p := &people[h%uint64(len(people))]
	last := &people[(h>>8)%uint64(len(people))]
	// Moving city is the most common change.
	pl := &places[(g.hash(id, 2)+uint64(ver/2))%uint64(len(places))]
	created := micros(snapshotStart) - topology.Timestamp(h>>20%(3*365*86400))*1_000_000
	c := topology.Customer{
		ID:        id,
		FirstName: p.first,
		LastName:  last.last,
		City:      pl.city,
		Country:   pl.country,
		Segment:   segments[(h>>16)%uint64(len(segments))],
		CreatedAt: created,
		UpdatedAt: created + topology.Timestamp(ver)*86_400_000_000,
	}
	start := len(g.text)
	g.text = append(g.text, p.emailFirst...)
	g.text = append(g.text, '.')
	g.text = append(g.text, last.emailLast...)
	g.text = strconv.AppendInt(g.text, id, 10)
	g.text = append(g.text, '@')
	g.text = append(g.text, emailDomains[(h>>24)%uint64(len(emailDomains))]...)
	c.Email = g.str(start)
	if pl.region != "" {
		c.Region = topology.Some(pl.region)
	}
	if (h>>32)%5 != 0 || ver%3 == 1 {
		start := len(g.text)
		g.text = append(g.text, "+34 6"...)
		g.text = appendDigits(g.text, g.hash(id, 3+uint64(ver/3)), 8)
		c.Phone = topology.Some(g.str(start))
	}
	if (h>>40)%4 != 0 {
		c.BirthDate = topology.Some(topology.Date(-3650 + int32(h>>44%14600)))
	}
	return c
}

// vehicle returns vehicle id at version ver.
func (g *generator) vehicle(id int64, ver uint8) topology.Vehicle {
	h := g.hash(id, 4)
	m := &models[h%uint64(len(models))]
	cond := conditions[(h>>8)%3]
	year := int16(2025)
	mileage := int32(h >> 12 % 40)
	price := m.price
	if cond != "new" {
		year = 2015 + int16(h>>16%10)
		mileage = int32(5_000 + h>>20%150_000)
		price = m.price * int64(40+h>>28%50) / 100
	}
	price -= int64(ver%16) * 25_000 // price cuts of 250.00
	created := micros(snapshotStart) - topology.Timestamp(h>>36%(365*86400))*1_000_000
	v := topology.Vehicle{
		ID:           id,
		Make:         m.make,
		Model:        m.model,
		ModelYear:    year,
		BodyType:     m.body,
		FuelType:     m.fuel,
		Transmission: m.transmission,
		MileageKm:    mileage,
		Condition:    cond,
		ListPrice:    topology.NewDecimal(price, 2),
		StockStatus:  stockStatuses[(uint64(ver)+h>>40)%3],
		CreatedAt:    created,
		UpdatedAt:    created + topology.Timestamp(ver)*3_600_000_000,
	}
	start := len(g.text)
	g.text = append(g.text, m.wmi...)
	g.text = append(g.text, "ZZZ1KZ"...)
	g.text = append(g.text, "ABCDEFGHJKLMNPRSTVWXY"[year%21])
	g.text = append(g.text, 'W')
	g.text = appendDigits(g.text, uint64(id), 6)
	v.VIN = g.str(start)
	if (h>>44)%10 != 0 {
		v.Color = topology.Some(colors[(h>>48)%uint64(len(colors))])
	}
	if (h>>52)%7 != 0 {
		v.CostPrice = topology.Some(topology.NewDecimal(price*85/100, 2))
	}
	if (h>>56)%3 != 0 {
		v.Features = topology.Some(features[(h>>58+uint64(ver/4))%uint64(len(features))])
	}
	return v
}

// vehiclePrice is the price an order pays for the vehicle: its list price
// at version 0.
func (g *generator) vehiclePrice(id int64) int64 {
	h := g.hash(id, 4)
	m := &models[h%uint64(len(models))]
	if conditions[(h>>8)%3] == "new" {
		return m.price
	}
	return m.price * int64(40+h>>28%50) / 100
}

// appendDigits appends the n low decimal digits of v, zero-padded.
func appendDigits(b []byte, v uint64, n int) []byte {
	var d [20]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

func (g *generator) order(s *orderSlot) topology.Order {
	return topology.Order{
		ID:         s.id,
		CustomerID: s.customer,
		Status:     orderStatuses[s.status],
		Channel:    channels[s.channel],
		Currency:   s.currency,
		OrderDate:  s.date,
		UpdatedAt:  s.updated,
	}
}

func item(s *orderSlot, i int) topology.OrderItem {
	it := &s.items[i]
	return topology.OrderItem{
		ID:        it.id,
		OrderID:   s.id,
		VehicleID: it.vehicle,
		Quantity:  it.qty,
		UnitPrice: topology.NewDecimal(it.price, 2),
		Discount:  topology.NewDecimal(it.discount, 2),
	}
}

func payment(s *orderSlot, i int) topology.Payment {
	p := &s.payments[i]
	out := topology.Payment{
		ID:        p.id,
		OrderID:   s.id,
		Amount:    topology.NewDecimal(p.amount, 2),
		Method:    payMethods[p.method],
		Status:    payStatuses[p.status],
		CreatedAt: p.created,
	}
	if p.paidAt != 0 {
		out.PaidAt = topology.Some(p.paidAt)
	}
	return out
}

// emitter receives the generated records. The key and value bytes are
// appended by the callbacks' caller into the buffer the emitter returns.
type emitter interface {
	// buffer returns the buffer to append the record of the given table
	// and topic partition to.
	buffer(t topology.Table, partition int32) []byte
	// emit registers the record now at the end of the buffer.
	emit(t topology.Table, partition int32, offset int64, buf []byte, keyStart, valueStart int)
}

// write renders one record through e.
func (g *generator) write(e emitter, t topology.Table, id, routeID int64, src *source, before, after *topology.Row) {
	part := int32(uint64(routeID) % uint64(g.partitions))
	buf := e.buffer(t, part)
	keyStart := len(buf)
	buf = g.r.appendKey(buf, t, id)
	valueStart := len(buf)
	buf = g.r.appendValue(buf, t, src, before, after)
	off := g.offsets[t][part]
	g.offsets[t][part]++
	e.emit(t, part, off, buf, keyStart, valueStart)
	g.text = g.text[:0]
}

// snapshotDone reports whether the snapshot has been fully emitted.
func (g *generator) snapshotDone() bool { return g.snapTable == topology.TableUnknown }

// nextSnapshot emits the next snapshot read (op r): every customer, every
// vehicle, then each base order followed by its items and its payment.
// The last base orders fill the active window.
func (g *generator) nextSnapshot(e emitter) {
	src := source{op: topology.OpRead, snapshot: "true", lsn: g.lsn, txID: g.txID, sourceUs: int64(g.clock)}
	g.clock += 7 // reads take a few microseconds each
	src.envNs = int64(g.clock)*1000 + 350_000_000
	switch g.snapTable {
	case topology.TableCustomers:
		id := g.snapID
		g.row = topology.CustomerRow(g.customer(id, 0))
		g.write(e, topology.TableCustomers, id, id, &src, nil, &g.row)
		if g.snapID++; g.snapID > g.customers {
			g.snapTable, g.snapID = topology.TableVehicles, 1
		}
	case topology.TableVehicles:
		id := g.snapID
		g.row = topology.VehicleRow(g.vehicle(id, 0))
		g.write(e, topology.TableVehicles, id, id, &src, nil, &g.row)
		if g.snapID++; g.snapID > g.vehicles {
			g.snapTable, g.snapID = topology.TableOrders, 1
			if g.baseOrders == 0 {
				g.snapTable = topology.TableUnknown
			}
		}
	default:
		if g.popped == g.queued {
			g.newOrderSteps(true)
		}
		g.emitStep(e, &src)
		if g.popped == g.queued && g.nextOrder > g.baseOrders {
			g.snapTable = topology.TableUnknown
		}
	}
	if g.snapTable == topology.TableUnknown {
		g.clock = micros(snapshotStart.Add(time.Hour))
	}
}

// newOrderSteps starts a new order in the next window slot and queues its
// events: the order, its items and, in the snapshot, its approved payment.
func (g *generator) newOrderSteps(snapshot bool) {
	si := g.head
	g.head = (g.head + 1) % len(g.window)
	g.filled = min(g.filled+1, len(g.window))
	s := &g.window[si]
	*s = orderSlot{id: g.nextOrder, customer: 1 + g.rng.Int64N(g.customers), channel: uint8(g.rng.IntN(len(channels)))}
	g.nextOrder++
	s.currency = places[(g.hash(s.customer, 2))%uint64(len(places))].currency
	if snapshot {
		// Base orders spread over the two years before the snapshot.
		span := int64(2 * 365 * 86400 * 1_000_000)
		s.date = micros(snapshotStart) - topology.Timestamp(span-span*s.id/(g.baseOrders+1))
		s.status = statusDelivered
	} else {
		s.date = g.clock
	}
	s.updated = s.date
	s.nItems = uint8(1 + g.rng.IntN(3))
	for i := range s.items[:s.nItems] {
		it := &s.items[i]
		it.id = g.nextItem
		g.nextItem++
		it.vehicle = 1 + g.rng.Int64N(g.vehicles)
		it.qty = 1
		if g.rng.IntN(10) == 0 {
			it.qty = 2
		}
		it.price = g.vehiclePrice(it.vehicle)
		if g.rng.IntN(3) == 0 {
			it.discount = 100 * g.rng.Int64N(2_000)
		}
		it.live = true
	}
	g.queue[0] = genStep{kind: stepOrderCreate, slot: int32(si)}
	g.queued, g.popped = 1, 0
	for i := range s.items[:s.nItems] {
		g.queue[g.queued] = genStep{kind: stepItemCreate, slot: int32(si), idx: int8(i)}
		g.queued++
	}
	if snapshot {
		g.queue[g.queued] = genStep{kind: stepPaymentCreate, slot: int32(si)}
		g.queued++
		s.nPayments = 1
		s.payments[0] = paymentState{
			id: g.nextPayment, amount: s.total(), method: uint8(g.rng.IntN(len(payMethods))),
			status: payApproved, paidAt: s.date + 3_600_000_000, created: s.date + 60_000_000,
		}
		g.nextPayment++
	} else {
		g.itemsCreated += int64(s.nItems)
	}
}

// next emits the next streaming event.
func (g *generator) next(e emitter) {
	if g.popped == g.queued {
		g.plan()
	}
	g.clock += topology.Timestamp(1 + g.rng.IntN(2_000))
	g.lsn += int64(40 + g.rng.IntN(200))
	src := source{
		seqFirst: g.commitLSN, lsn: g.lsn, txID: g.txID, sourceUs: int64(g.clock),
		envNs: int64(g.clock)*1000 + 150_000_000 + g.rng.Int64N(1_000_000),
	}
	g.emitStep(e, &src)
	if g.popped == g.queued {
		// The transaction commits.
		g.commitLSN = g.lsn
		g.txID++
	}
}

// plan picks the next operation of the streaming mix and queues its steps.
func (g *generator) plan() {
	n := g.rng.IntN(84)
	kind := mix[len(mix)-1].kind
	for _, m := range mix {
		if n < m.weight {
			kind = m.kind
			break
		}
		n -= m.weight
	}
	if kind == stepNewOrder || g.filled == 0 {
		g.newOrderSteps(false)
		return
	}
	si := int32(g.rng.IntN(g.filled))
	s := &g.window[si]
	st := genStep{kind: kind, slot: si}
	switch kind {
	case stepPaymentCreate:
		if s.nPayments == maxPayments {
			st.kind = stepPaymentUpdate
		}
	case stepPaymentUpdate:
		if s.nPayments == 0 {
			st.kind = stepPaymentCreate
		}
	case stepItemUpdate, stepItemDelete:
		if s.liveItems() == 0 {
			st.kind = stepOrderUpdate
			if s.nItems < maxItems {
				st.kind, st.idx = stepItemCreate, -1
			}
		}
	}
	g.queue[0] = st
	g.queued, g.popped = 1, 0
}

// emitStep emits the next queued step's record, updating the model.
func (g *generator) emitStep(e emitter, src *source) {
	st := g.queue[g.popped]
	g.popped++
	now := topology.Timestamp(src.sourceUs)
	if src.op == topology.OpRead {
		now = 0
	}
	switch st.kind {
	case stepCustomerUpdate, stepVehicleUpdate:
		src.op = topology.OpUpdate
		if st.kind == stepCustomerUpdate {
			id := 1 + g.rng.Int64N(g.customers)
			v := g.custVer[id]
			g.prev = topology.CustomerRow(g.customer(id, v))
			g.row = topology.CustomerRow(g.customer(id, v+1))
			g.custVer[id] = v + 1
			g.write(e, topology.TableCustomers, id, id, src, &g.prev, &g.row)
		} else {
			id := 1 + g.rng.Int64N(g.vehicles)
			v := g.vehVer[id]
			g.prev = topology.VehicleRow(g.vehicle(id, v))
			g.row = topology.VehicleRow(g.vehicle(id, v+1))
			g.vehVer[id] = v + 1
			g.write(e, topology.TableVehicles, id, id, src, &g.prev, &g.row)
		}
		return
	}
	s := &g.window[st.slot]
	op := topology.OpUpdate
	if src.op == topology.OpRead {
		op = topology.OpRead
	}
	switch st.kind {
	case stepOrderCreate:
		if op != topology.OpRead {
			op = topology.OpCreate
		}
		src.op = op
		g.row = topology.OrderRow(g.order(s))
		g.write(e, topology.TableOrders, s.id, s.id, src, nil, &g.row)
	case stepItemCreate:
		if op != topology.OpRead {
			op = topology.OpCreate
		}
		src.op = op
		i := int(st.idx)
		if i < 0 {
			// An item added to an order.
			i = int(s.nItems)
			s.nItems++
			it := &s.items[i]
			*it = itemState{id: g.nextItem, vehicle: 1 + g.rng.Int64N(g.vehicles), qty: 1, live: true}
			it.price = g.vehiclePrice(it.vehicle)
			g.nextItem++
			g.itemsCreated++
		}
		g.row = topology.ItemRow(item(s, i))
		g.write(e, topology.TableOrderItems, s.items[i].id, s.id, src, nil, &g.row)
	case stepPaymentCreate:
		if op != topology.OpRead {
			op = topology.OpCreate
			i := s.nPayments
			s.nPayments++
			s.payments[i] = paymentState{
				id: g.nextPayment, amount: s.total(), method: uint8(g.rng.IntN(len(payMethods))),
				status: payPending, created: now,
			}
			if g.rng.IntN(4) == 0 {
				s.payments[i].amount /= 2 // a deposit
			}
			g.nextPayment++
		}
		src.op = op
		i := int(s.nPayments) - 1
		g.row = topology.PaymentRow(payment(s, i))
		g.write(e, topology.TablePayments, s.payments[i].id, s.id, src, nil, &g.row)
	case stepOrderUpdate:
		src.op = op
		g.prev = topology.OrderRow(g.order(s))
		switch {
		case s.status < statusDelivered && g.rng.IntN(20) == 0:
			s.status = statusCancelled
		case s.status < statusDelivered:
			s.status++
		}
		s.updated = now
		g.row = topology.OrderRow(g.order(s))
		g.write(e, topology.TableOrders, s.id, s.id, src, &g.prev, &g.row)
	case stepPaymentUpdate:
		src.op = op
		i := g.rng.IntN(int(s.nPayments))
		p := &s.payments[i]
		g.prev = topology.PaymentRow(payment(s, i))
		switch p.status {
		case payPending:
			p.status = payApproved
			if g.rng.IntN(8) == 0 {
				p.status = payRejected
			}
			p.paidAt = now
		case payApproved:
			p.status = payRefunded
		default:
			p.status = payPending
			p.paidAt = 0
		}
		g.row = topology.PaymentRow(payment(s, i))
		g.write(e, topology.TablePayments, p.id, s.id, src, &g.prev, &g.row)
	case stepItemUpdate, stepItemDelete:
		src.op = op
		i := g.pickLiveItem(s)
		g.prev = topology.ItemRow(item(s, i))
		it := &s.items[i]
		if st.kind == stepItemDelete {
			src.op = topology.OpDelete
			it.live = false
			g.itemsDeleted++
			g.write(e, topology.TableOrderItems, it.id, s.id, src, &g.prev, nil)
			return
		}
		if g.rng.IntN(2) == 0 {
			it.discount = 100 * g.rng.Int64N(3_000)
		} else {
			it.qty = 3 - it.qty // 1 ↔ 2
		}
		g.row = topology.ItemRow(item(s, i))
		g.write(e, topology.TableOrderItems, it.id, s.id, src, &g.prev, &g.row)
	}
}

func (g *generator) pickLiveItem(s *orderSlot) int {
	k := g.rng.IntN(s.liveItems())
	for i := range s.items[:s.nItems] {
		if s.items[i].live {
			if k == 0 {
				return i
			}
			k--
		}
	}
	panic("pipeline: no live item in the slot")
}
