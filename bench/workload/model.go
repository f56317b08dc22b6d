package workload

// The model is the planner's picture of the rows this generator may touch.
// It is updated when an operation is planned (not when it commits), which is
// what lets one seeded goroutine decide the whole sequence while workers
// execute it.

type orderStatus uint8

const (
	pending orderStatus = iota
	confirmed
	paid
	delivered
	cancelled
	numOrderStatuses
)

var orderStatusNames = [...]string{"pending", "confirmed", "paid", "delivered", "cancelled"}

type payStatus uint8

const (
	payPending payStatus = iota
	payApproved
	payRejected
	payRefunded
)

var payStatusNames = [...]string{"pending", "approved", "rejected", "refunded"}

var payMethods = []string{"credit_card", "bank_transfer", "financing", "cash"}

var channels = []string{"web", "mobile", "dealer"}

type customer struct {
	id       int64
	country  int // index into countries
	city     int // index into countries[country].cities
	segment  segment
	hasPhone bool
	orders   int // orders rows that reference it: it may be deleted when 0
}

type vehicle struct {
	id         int64
	price      int64 // list price, cents
	cond       condition
	stock      stock
	large      bool   // features is a large (TOASTed) document
	features   bool   // features is not NULL
	reservedBy *order // inTransit while its item is between the halves of a move
	items      int    // order_items rows that reference it, or will again (moving items)
}

type order struct {
	id       int64
	cust     *customer
	status   orderStatus
	country  int // decides currency and exchange rate
	month    int // month of order_date (monthIndex) when the planner knows it; 0: now() at insertion
	items    []*item
	payments []*payment
}

// inTransit stands for the order of an item that a two-transaction move
// deleted and has not re-inserted yet: the item's used vehicle stays
// reserved meanwhile. It is never live.
var inTransit = &order{}

// movingItem is an item deleted by the first half of a two-transaction
// move, to be re-inserted with the same id under another order than from.
type movingItem struct {
	it   *item
	from *order
}

// movingPayment is the same for a payment (pending when it was deleted).
type movingPayment struct {
	pay  *payment
	from *order
}

// deletedOrder is an order deleted by recreate_order, to be re-created
// later with the same id; itemIDs are its items' ids, which the new items
// may reuse.
type deletedOrder struct {
	id      int64
	cust    *customer
	month   int
	itemIDs []int64
}

type item struct {
	id        int64
	v         *vehicle
	qty       int64
	unitPrice int64 // cents, order currency
	discount  int64 // cents
}

type payment struct {
	id     int64
	o      *order
	amount int64 // cents
	status payStatus
}

// value is what the line adds to its order's total.
func (it *item) value() int64 { return it.qty*it.unitPrice - it.discount }

func (o *order) total() int64 {
	var t int64
	for _, it := range o.items {
		t += it.value()
	}
	return t
}

// sum adds the amounts of o's payments in the given statuses.
func (o *order) sum(statuses ...payStatus) int64 {
	var s int64
	for _, p := range o.payments {
		for _, st := range statuses {
			if p.status == st {
				s += p.amount
			}
		}
	}
	return s
}

func (o *order) hasVehicle(v *vehicle) bool {
	for _, it := range o.items {
		if it.v == v {
			return true
		}
	}
	return false
}

// set is an insertion-ordered set with O(1) add, remove (swap with last)
// and uniform random pick. Its order depends only on the sequence of calls,
// never on map iteration.
type set[T comparable] struct {
	items []T
	pos   map[T]int
}

func (s *set[T]) add(x T) {
	if s.pos == nil {
		s.pos = make(map[T]int)
	}
	if _, ok := s.pos[x]; ok {
		return
	}
	s.pos[x] = len(s.items)
	s.items = append(s.items, x)
}

func (s *set[T]) remove(x T) {
	i, ok := s.pos[x]
	if !ok {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[i] = last
	s.pos[last] = i
	s.items = s.items[:len(s.items)-1]
	delete(s.pos, x)
}

func (s *set[T]) len() int { return len(s.items) }

func (s *set[T]) pick(r randSource) T { return s.items[r.IntN(len(s.items))] }

type model struct {
	customers       []*customer
	vehicles        []*vehicle
	available       set[*vehicle] // stock available: can be ordered
	large           set[*vehicle] // features is large
	orders          [numOrderStatuses]set[*order]
	pendingPayments set[*payment]
	awaiting        set[*order] // confirmed, not fully covered by approved and pending payments

	// Rows between the two transactions of a move or a re-creation: not in
	// the database, not in any order, touched by nothing else meanwhile.
	movingItems    []movingItem
	movingPayments []movingPayment
	deletedOrders  []deletedOrder
}

func (m *model) liveOrders() int {
	n := 0
	for i := range m.orders {
		n += m.orders[i].len()
	}
	return n
}

func (m *model) addVehicle(v *vehicle) {
	m.vehicles = append(m.vehicles, v)
	if v.stock == available {
		m.available.add(v)
	}
	if v.large {
		m.large.add(v)
	}
}

func (m *model) setStock(v *vehicle, s stock) {
	v.stock = s
	if s == available {
		m.available.add(v)
	} else {
		m.available.remove(v)
	}
}

func (m *model) addOrder(o *order) {
	m.orders[o.status].add(o)
	m.refresh(o)
}

func (m *model) setStatus(o *order, s orderStatus) {
	m.orders[o.status].remove(o)
	o.status = s
	m.orders[s].add(o)
	m.refresh(o)
}

func (m *model) removeOrder(o *order) {
	m.orders[o.status].remove(o)
	m.awaiting.remove(o)
	for _, p := range o.payments {
		m.pendingPayments.remove(p)
	}
}

// refresh updates o's membership of the awaiting set after a change to its
// status or payments.
func (m *model) refresh(o *order) {
	if o.status == confirmed && len(o.payments) < maxPayments && o.sum(payApproved, payPending) < o.total() {
		m.awaiting.add(o)
	} else {
		m.awaiting.remove(o)
	}
}

func (m *model) setPayStatus(p *payment, s payStatus) {
	p.status = s
	if s == payPending {
		m.pendingPayments.add(p)
	} else {
		m.pendingPayments.remove(p)
	}
	m.refresh(p.o)
}
