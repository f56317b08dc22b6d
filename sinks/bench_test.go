package sinks

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// benchFacts returns n realistic facts (seeded).
func benchFacts(n int) []topology.Fact {
	r := rand.New(rand.NewPCG(1, 2))
	makes := []string{"Toyota", "Volkswagen", "Škoda", "Renault", "Peugeot", "BMW", "Mercedes-Benz", "Seat"}
	models := []string{"Corolla", "Golf", "Octavia", "Clio", "208", "Serie 3", "Clase A", "León"}
	cities := []string{"Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao"}
	first := []string{"Ana", "Luis", "María", "José", "Lucía", "Javier", "Carmen", "David"}
	last := []string{"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"}
	status := []string{"pending", "confirmed", "paid", "delivered", "cancelled"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]topology.Fact, n)
	for i := range out {
		price := 500000 + r.Int64N(6000000)
		qty := int32(1 + r.IntN(2))
		line := int64(qty) * price
		fn, ln := first[r.IntN(len(first))], last[r.IntN(len(last))]
		out[i] = topology.Fact{
			OrderItemID: int64(i + 1), OrderID: int64(i/2 + 1),
			OrderDate:   topology.TimestampOf(base.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))),
			OrderStatus: status[r.IntN(len(status))], Channel: "web", Currency: "EUR",
			CustomerID: r.Int64N(100000), CustomerName: fn + " " + ln,
			CustomerEmail: fmt.Sprintf("%s.%s%d@example.com", fn, ln, i), CustomerCity: cities[r.IntN(len(cities))],
			CustomerRegion: "Comunidad", CustomerCountry: "ES", CustomerSegment: "retail",
			VehicleID: r.Int64N(50000), VIN: fmt.Sprintf("WVWZZZ1JZXW%06d", i%1000000),
			Make: makes[r.IntN(len(makes))], Model: models[r.IntN(len(models))], ModelYear: int16(2010 + r.IntN(15)),
			BodyType: "hatchback", FuelType: "petrol", Condition: "used", ListPrice: money(price),
			Quantity: qty, UnitPrice: money(price), Discount: money(0), LineTotal: money(line),
			OrderTotal: money(line * 2), OrderPaid: money(line), PaymentStatus: "partial",
			UpdatedAt: topology.TimestampOf(base), Version: uint64(i) + 1<<60,
		}
	}
	return out
}

// BenchmarkEncodeFacts measures appending facts to a reused block and
// encoding it in the Native format, as the HTTP transport does for every
// insert. One op is one block; rows/s is the figure to compare with the
// target of 2,000,000 rows/s per core (run with -cpu 1).
func BenchmarkEncodeFacts(b *testing.B) {
	for _, n := range []int{1_000, 50_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			facts := benchFacts(n)
			blk := newFactBlock()
			var buf proto.Buffer
			encodeOnce := func() {
				blk.reset()
				for i := range facts {
					blk.append(&facts[i])
				}
				buf.Reset()
				if err := encodeNative(&buf, blk.input); err != nil {
					b.Fatal(err)
				}
			}
			encodeOnce() // grow the columns and the buffer
			b.SetBytes(int64(len(buf.Buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				encodeOnce()
			}
			b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
