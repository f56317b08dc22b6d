package topology

// Mirror is one row for a mirror table (docs/design.md, Outputs): the source row
// (Row.Table names the table) with _version and _deleted. A deleted row
// carries its last known image.
type Mirror struct {
	Row     Row
	Version uint64 // _version: source.lsn of the change
	Deleted bool   // _deleted
}

// Column counts of the source tables (fields of the rows.go structs). The
// merge functions below copy the columns of a ColumnSet from a stored row
// into a new one (unchanged TOAST values); they handle every column, not
// only the TOASTable ones.
const (
	numCustomerColumns = 12
	numVehicleColumns  = 17
	numOrderColumns    = 7
	numItemColumns     = 6
	numPaymentColumns  = 7
)

func mergeCustomer(d, s *Customer, c ColumnSet) {
	for n := 0; n < numCustomerColumns; n++ {
		if !c.Has(n) {
			continue
		}
		switch n {
		case 0:
			d.ID = s.ID
		case 1:
			d.Email = s.Email
		case 2:
			d.FirstName = s.FirstName
		case 3:
			d.LastName = s.LastName
		case 4:
			d.Phone = s.Phone
		case 5:
			d.City = s.City
		case 6:
			d.Region = s.Region
		case 7:
			d.Country = s.Country
		case 8:
			d.Segment = s.Segment
		case 9:
			d.BirthDate = s.BirthDate
		case 10:
			d.CreatedAt = s.CreatedAt
		case 11:
			d.UpdatedAt = s.UpdatedAt
		}
	}
}

func mergeVehicle(d, s *Vehicle, c ColumnSet) {
	for n := 0; n < numVehicleColumns; n++ {
		if !c.Has(n) {
			continue
		}
		switch n {
		case 0:
			d.ID = s.ID
		case 1:
			d.VIN = s.VIN
		case 2:
			d.Make = s.Make
		case 3:
			d.Model = s.Model
		case 4:
			d.ModelYear = s.ModelYear
		case 5:
			d.BodyType = s.BodyType
		case 6:
			d.FuelType = s.FuelType
		case 7:
			d.Transmission = s.Transmission
		case 8:
			d.Color = s.Color
		case 9:
			d.MileageKm = s.MileageKm
		case 10:
			d.Condition = s.Condition
		case 11:
			d.ListPrice = s.ListPrice
		case 12:
			d.CostPrice = s.CostPrice
		case 13:
			d.StockStatus = s.StockStatus
		case 14:
			d.Features = s.Features
		case 15:
			d.CreatedAt = s.CreatedAt
		case 16:
			d.UpdatedAt = s.UpdatedAt
		}
	}
}

func mergeOrder(d, s *Order, c ColumnSet) {
	for n := 0; n < numOrderColumns; n++ {
		if !c.Has(n) {
			continue
		}
		switch n {
		case 0:
			d.ID = s.ID
		case 1:
			d.CustomerID = s.CustomerID
		case 2:
			d.Status = s.Status
		case 3:
			d.Channel = s.Channel
		case 4:
			d.Currency = s.Currency
		case 5:
			d.OrderDate = s.OrderDate
		case 6:
			d.UpdatedAt = s.UpdatedAt
		}
	}
}

func mergeItem(d, s *OrderItem, c ColumnSet) {
	for n := 0; n < numItemColumns; n++ {
		if !c.Has(n) {
			continue
		}
		switch n {
		case 0:
			d.ID = s.ID
		case 1:
			d.OrderID = s.OrderID
		case 2:
			d.VehicleID = s.VehicleID
		case 3:
			d.Quantity = s.Quantity
		case 4:
			d.UnitPrice = s.UnitPrice
		case 5:
			d.Discount = s.Discount
		}
	}
}

func mergePayment(d, s *Payment, c ColumnSet) {
	for n := 0; n < numPaymentColumns; n++ {
		if !c.Has(n) {
			continue
		}
		switch n {
		case 0:
			d.ID = s.ID
		case 1:
			d.OrderID = s.OrderID
		case 2:
			d.Amount = s.Amount
		case 3:
			d.Method = s.Method
		case 4:
			d.Status = s.Status
		case 5:
			d.PaidAt = s.PaidAt
		case 6:
			d.CreatedAt = s.CreatedAt
		}
	}
}
