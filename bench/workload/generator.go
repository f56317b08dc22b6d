package workload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// SchemaFile is where the source schema lives in the repository.
const SchemaFile = "deploy/postgres/schema.sql"

// ErrSchema reports that the database lacks the source schema (a table or
// column of docs/design.md, Source data model); errors.Is matches it.
var ErrSchema = errors.New("source schema missing")

// Generator writes the workload into one PostgreSQL database. Open checks
// the connection and the schema; Run seeds and runs the mix. A Generator is
// not safe for concurrent use: run one Run at a time.
type Generator struct {
	cfg  *pgx.ConnConfig
	conn *pgx.Conn // control connection: schema, seeding, ids, xid
	addr string
	log  zerolog.Logger
}

// Open connects to the database at dsn and checks that it has the source
// schema. Errors never contain the password: an unreachable server is
// reported as "PostgreSQL at host:port is unreachable: ...", a missing table
// names the table and deploy/postgres/schema.sql.
func Open(ctx context.Context, dsn string, log zerolog.Logger) (*Generator, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
			return nil, fmt.Errorf("parsing the PostgreSQL connection string: %w", errors.Unwrap(pe))
		}
		return nil, errors.New("parsing the PostgreSQL connection string: malformed (expected postgres://user:password@host:port/database?sslmode=disable)")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "drivetrain-generate"
	}
	g := &Generator{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), log: log.With().Str("component", "workload").Logger()}
	if g.conn, err = g.connect(ctx); err != nil {
		return nil, err
	}
	if err := g.checkSchema(ctx); err != nil {
		_ = g.conn.Close(context.Background())
		return nil, err
	}
	return g, nil
}

// Addr is the host:port of the database, for messages.
func (g *Generator) Addr() string { return g.addr }

// Close closes the connection. It is idempotent.
func (g *Generator) Close() error {
	if g.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := g.conn.Close(ctx)
	g.conn = nil
	return err
}

func (g *Generator) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, g.cfg.Copy())
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return nil, fmt.Errorf("PostgreSQL at %s refused the connection: %s (SQLSTATE %s)", g.addr, pgErr.Message, pgErr.Code)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return nil, fmt.Errorf("PostgreSQL at %s is unreachable: %v", g.addr, opErr.Err)
	}
	cause := err
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && errors.Unwrap(ce) != nil {
		cause = errors.Unwrap(ce) // without the user and database prefix
	}
	return nil, fmt.Errorf("PostgreSQL at %s is unreachable: %v", g.addr, cause)
}

// schemaColumns are the columns the generator writes, by table.
var schemaColumns = [numTables]string{
	"id, email, first_name, last_name, phone, city, region, country, segment, birth_date, created_at, updated_at",
	"id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition, list_price, cost_price, stock_status, features, created_at, updated_at",
	"id, customer_id, status, channel, currency, order_date, updated_at",
	"id, order_id, vehicle_id, quantity, unit_price, discount",
	"id, order_id, amount, method, status, paid_at, created_at",
}

func (g *Generator) checkSchema(ctx context.Context) error {
	for t := range numTables {
		var exists bool
		if err := g.conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", "public."+Tables[t]).Scan(&exists); err != nil {
			return fmt.Errorf("checking the schema at %s: %w", g.addr, err)
		}
		if !exists {
			return fmt.Errorf("%w: table %q does not exist in database %q at %s; apply %s first (psql -f %s)",
				ErrSchema, Tables[t], g.cfg.Database, g.addr, SchemaFile, SchemaFile)
		}
		if _, err := g.conn.Exec(ctx, "SELECT "+schemaColumns[t]+" FROM "+Tables[t]+" LIMIT 0"); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return fmt.Errorf("%w: table %q at %s does not match %s: %s", ErrSchema, Tables[t], g.addr, SchemaFile, pgErr.Message)
			}
			return fmt.Errorf("checking table %s at %s: %w", Tables[t], g.addr, err)
		}
	}
	return nil
}

// startXID returns the 32-bit id of a fresh transaction, comparable with
// Debezium's source.txId.
func (g *Generator) startXID(ctx context.Context) (uint64, error) {
	var s string
	if err := g.conn.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&s); err != nil {
		return 0, fmt.Errorf("reading the current transaction id: %w", err)
	}
	x, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing transaction id %q: %w", s, err)
	}
	return x & 0xffffffff, nil
}

// seqAllocator hands out ids from the tables' sequences, fetched in blocks
// on the control connection. Ids left over at the end are lost (gaps).
type seqAllocator struct {
	conn  *pgx.Conn
	seqs  [numTables]string
	free  [numTables][]int64
	block int
}

func newSeqAllocator(ctx context.Context, conn *pgx.Conn) (*seqAllocator, error) {
	a := &seqAllocator{conn: conn, block: 128}
	for t := range numTables {
		var seq *string
		if err := conn.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, 'id')", "public."+Tables[t]).Scan(&seq); err != nil {
			return nil, fmt.Errorf("finding the id sequence of %s: %w", Tables[t], err)
		}
		if seq == nil {
			return nil, fmt.Errorf("%w: %s.id has no sequence (expected BIGSERIAL, see %s)", ErrSchema, Tables[t], SchemaFile)
		}
		a.seqs[t] = *seq
	}
	return a, nil
}

// take returns n fresh ids of t in increasing order. Cancelling ctx does
// not interrupt the (short) query, so the connection stays usable.
func (a *seqAllocator) take(ctx context.Context, t table, n int) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	rows, err := a.conn.Query(ctx, "SELECT nextval($1::regclass) FROM generate_series(1, $2)", a.seqs[t], n)
	if err != nil {
		return nil, fmt.Errorf("allocating %s ids: %w", Tables[t], err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("allocating %s ids: %w", Tables[t], err)
	}
	slices.Sort(ids)
	return ids, nil
}

func (a *seqAllocator) nextID(ctx context.Context, t table) (int64, error) {
	if len(a.free[t]) == 0 {
		ids, err := a.take(ctx, t, a.block)
		if err != nil {
			return 0, err
		}
		a.free[t] = ids
	}
	id := a.free[t][0]
	a.free[t] = a.free[t][1:]
	return id, nil
}

// Run seeds the catalogue if it is smaller than opts.Scale asks, loads the
// rows the mix may touch, and runs the steady mix until a limit of opts is
// reached or ctx is cancelled (then it finishes the transactions in flight,
// reports Interrupted, and returns a nil error). A transaction that
// PostgreSQL rejects for its data (rows written by others) is skipped and
// counted in Report.Skipped, unless opts.Strict; serialization failures
// and deadlocks are retried. On any other database error it stops and
// returns the error together with the report of what committed.
func (g *Generator) Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if g.conn == nil {
		return nil, errors.New("generator is closed")
	}
	if g.conn.IsClosed() { // an earlier Run was interrupted mid-query
		conn, err := g.connect(ctx)
		if err != nil {
			return nil, err
		}
		g.conn = conn
	}
	opts.setDefaults()
	rep := newReport(opts.Seed, opts.Scale)
	// Timestamps of seeded rows and the dates inside generated documents
	// derive from this wall-clock instant; the mix stamps rows with now().
	now := time.Now().UTC().Truncate(time.Second)

	workers := make([]*pgx.Conn, 0, opts.Workers)
	defer func() {
		for _, c := range workers {
			_ = c.Close(context.Background())
		}
	}()
	for range opts.Workers {
		c, err := g.connect(ctx)
		if err != nil {
			return nil, err
		}
		workers = append(workers, c)
	}
	ids, err := newSeqAllocator(ctx, g.conn)
	if err != nil {
		return nil, err
	}
	if rep.StartXID, err = g.startXID(ctx); err != nil {
		return nil, err
	}

	var counts tally
	seedStart := time.Now()
	if err := g.seed(ctx, &opts, ids, now, &counts, rep); err != nil {
		rep.setCounts(&counts)
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, nil
		}
		return rep, err
	}
	rep.SeedElapsed = time.Since(seedStart)
	rep.SeedSeconds = rep.SeedElapsed.Seconds()
	rep.setCounts(&counts)

	m, err := g.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, nil
		}
		return rep, err
	}
	g.log.Debug().Int("customers", len(m.customers)).Int("vehicles", len(m.vehicles)).Int("orders", m.liveOrders()).Msg("loaded the catalogue")
	p := &planner{r: newRand(opts.Seed, 2), m: m, ids: ids, scale: opts.Scale, now: now}
	x := newExecutor(g.log, workers, opts.Strict)
	err = x.run(ctx, p, &opts, g.load)
	x.fill(rep, &counts)
	return rep, err
}

// seed tops the customers and vehicles tables up to the scale, in batches
// of COPY (one transaction each).
func (g *Generator) seed(ctx context.Context, opts *Options, ids *seqAllocator, now time.Time, counts *tally, rep *Report) error {
	r := newRand(opts.Seed, 1)
	targets := [...]struct {
		t    table
		want int
	}{{tCustomers, opts.Scale}, {tVehicles, vehicleTarget(opts.Scale)}}
	start := time.Now()
	var done int64
	for _, tg := range targets {
		var have int
		if err := g.conn.QueryRow(ctx, "SELECT count(*) FROM "+Tables[tg.t]).Scan(&have); err != nil {
			return fmt.Errorf("counting %s: %w", Tables[tg.t], err)
		}
		for missing := tg.want - have; missing > 0; {
			n := min(missing, 1000)
			batch, err := ids.take(ctx, tg.t, n)
			if err != nil {
				return err
			}
			rows := make([][]any, n)
			cols := customerColumns
			if tg.t == tVehicles {
				cols = vehicleColumns
			}
			for i, id := range batch {
				if tg.t == tCustomers {
					c := newCustomer(r, id, now)
					rows[i] = customerArgs(&c)
				} else {
					v := newVehicle(r, id, now)
					rows[i] = vehicleArgs(&v)
				}
			}
			copied, err := g.conn.CopyFrom(ctx, pgx.Identifier{Tables[tg.t]}, cols, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("seeding %s: %w", Tables[tg.t], err)
			}
			counts[tg.t][cInsert] += copied
			rep.Seeded[Tables[tg.t]] += copied
			done += copied
			missing -= n
			if opts.Progress != nil {
				opts.Progress(Progress{Phase: "seeding", Elapsed: time.Since(start), Changes: done})
			}
		}
	}
	if done > 0 {
		g.log.Info().Int64("customers", rep.Seeded["customers"]).Int64("vehicles", rep.Seeded["vehicles"]).Dur("took", time.Since(start)).Msg("topped up the catalogue")
	}
	return nil
}

// load reads the rows the mix may touch into a model, in id order (so the
// same database gives the same model).
func (g *Generator) load(ctx context.Context) (*model, error) {
	b := newModelBuilder()
	rows, _ := g.conn.Query(ctx, `SELECT id, country, city, segment, phone IS NOT NULL FROM customers ORDER BY id`)
	var (
		id                  int64
		ctry, cityName, seg string
		hasPhone            bool
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &ctry, &cityName, &seg, &hasPhone}, func() error {
		b.customer(id, ctry, cityName, seg, hasPhone)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading customers: %w", err)
	}

	// "Large" means stored in more than 2000 bytes, over the TOAST threshold;
	// pg_column_size reads the stored size without fetching TOASTed data.
	rows, _ = g.conn.Query(ctx, `SELECT id, (list_price * 100)::bigint, condition, stock_status, features IS NOT NULL,
		coalesce(pg_column_size(features), 0) > 2000 FROM vehicles ORDER BY id`)
	var (
		cents              int64
		cond, stockStatus  string
		hasFeatures, large bool
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &cents, &cond, &stockStatus, &hasFeatures, &large}, func() error {
		b.vehicle(id, cents, cond, stockStatus, hasFeatures, large)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading vehicles: %w", err)
	}

	rows, _ = g.conn.Query(ctx, `SELECT id, customer_id, status, currency,
		(extract(year FROM order_date AT TIME ZONE 'UTC') * 12 + extract(month FROM order_date AT TIME ZONE 'UTC') - 1)::int
		FROM orders ORDER BY id`)
	var (
		custID       int64
		status, curr string
		month        int
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &custID, &status, &curr, &month}, func() error {
		b.order(id, custID, status, curr, month)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading orders: %w", err)
	}

	rows, _ = g.conn.Query(ctx, `SELECT id, order_id, vehicle_id, quantity, (unit_price * 100)::bigint, (discount * 100)::bigint FROM order_items ORDER BY id`)
	var (
		orderID, vehID, qty, unit, disc int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &orderID, &vehID, &qty, &unit, &disc}, func() error {
		b.item(id, orderID, vehID, qty, unit, disc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading order items: %w", err)
	}

	rows, _ = g.conn.Query(ctx, `SELECT id, order_id, (amount * 100)::bigint, status FROM payments ORDER BY id`)
	_, err = pgx.ForEachRow(rows, []any{&id, &orderID, &cents, &status}, func() error {
		b.payment(id, orderID, cents, status)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading payments: %w", err)
	}
	return b.model(), nil
}

// modelBuilder assembles a model from rows as load reads them: the tables
// in the order of its methods (customers, vehicles, orders, order items,
// payments), each in id order, money in cents. A row that references one
// it did not get is left out. Unit tests drive it from simulated tables,
// so a reload there is the reload of a run.
type modelBuilder struct {
	m           *model
	countryIdx  map[string]int // country code → index into countries
	currencyIdx map[string]int // currency → first country using it
	custByID    map[int64]*customer
	vehByID     map[int64]*vehicle
	ordByID     map[int64]*order
	ordered     []*order
	pays        []*payment
}

func newModelBuilder() *modelBuilder {
	b := &modelBuilder{
		m:           &model{},
		countryIdx:  make(map[string]int, len(countries)),
		currencyIdx: make(map[string]int, len(countries)),
		custByID:    make(map[int64]*customer),
		vehByID:     make(map[int64]*vehicle),
		ordByID:     make(map[int64]*order),
	}
	for i := len(countries) - 1; i >= 0; i-- { // the first country of a currency wins
		b.countryIdx[countries[i].code] = i
		b.currencyIdx[countries[i].currency] = i
	}
	return b
}

func (b *modelBuilder) customer(id int64, country, cityName, seg string, hasPhone bool) {
	c := &customer{id: id, country: b.countryIdx[country], hasPhone: hasPhone}
	c.city = max(0, slices.IndexFunc(countries[c.country].cities, func(x city) bool { return x.name == cityName }))
	c.segment = segment(max(0, slices.Index(segmentNames[:], seg)))
	b.m.customers = append(b.m.customers, c)
	b.custByID[id] = c
}

func (b *modelBuilder) vehicle(id, listPrice int64, cond, stockStatus string, hasFeatures, large bool) {
	v := &vehicle{id: id, price: listPrice, features: hasFeatures, large: large}
	v.cond = condition(max(0, slices.Index(conditionNames[:], cond)))
	v.stock = stock(max(0, slices.Index(stockNames[:], stockStatus)))
	b.m.addVehicle(v)
	b.vehByID[id] = v
}

func (b *modelBuilder) order(id, custID int64, status, currency string, month int) {
	c := b.custByID[custID]
	if c == nil {
		return // cannot happen with the foreign key; skip rather than crash
	}
	c.orders++
	o := &order{id: id, cust: c, country: b.currencyIdx[currency], month: month}
	o.status = orderStatus(max(0, slices.Index(orderStatusNames[:], status)))
	b.ordByID[id] = o
	b.ordered = append(b.ordered, o)
}

func (b *modelBuilder) item(id, orderID, vehID, qty, unitPrice, discount int64) {
	o, v := b.ordByID[orderID], b.vehByID[vehID]
	if v != nil {
		v.items++
	}
	if o != nil && v != nil {
		o.items = append(o.items, &item{id: id, v: v, qty: qty, unitPrice: unitPrice, discount: discount})
	}
}

func (b *modelBuilder) payment(id, orderID, amount int64, status string) {
	if o := b.ordByID[orderID]; o != nil {
		p := &payment{id: id, o: o, amount: amount, status: payStatus(max(0, slices.Index(payStatusNames[:], status)))}
		o.payments = append(o.payments, p)
		b.pays = append(b.pays, p)
	}
}

// model completes the model once every row was added.
func (b *modelBuilder) model() *model {
	m := b.m
	for _, o := range b.ordered {
		m.addOrder(o)
		if o.status <= paid {
			for _, it := range o.items { // open orders hold their reserved used vehicles
				if it.v.cond != condNew && it.v.stock == reserved && it.v.reservedBy == nil {
					it.v.reservedBy = o
				}
			}
		}
	}
	for _, p := range b.pays {
		if p.status == payPending {
			m.pendingPayments.add(p)
		}
	}
	return m
}
