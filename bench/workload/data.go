package workload

// Reference data for realistic rows. Slices, never maps: the generator picks
// by index, so the order here is part of the deterministic sequence.

type city struct {
	name   string
	region string
}

type country struct {
	code       string // ISO 3166-1 alpha-2, customers.country
	currency   string // ISO 4217, orders.currency
	fxFromEUR  int64  // price of 1 EUR in this currency, in 1/10000
	weight     int    // share of customers
	cities     []city
	firstNames []string
	lastNames  []string
	phone      func(r randSource) string
}

// randSource is the part of *rand.Rand the row generators use.
type randSource interface {
	IntN(n int) int
	Int64N(n int64) int64
	Float64() float64
}

var countries = []country{
	{
		code: "ES", currency: "EUR", fxFromEUR: 10000, weight: 30,
		cities: []city{
			{"Madrid", "Comunidad de Madrid"}, {"Barcelona", "Cataluña"}, {"Valencia", "Comunitat Valenciana"},
			{"Sevilla", "Andalucía"}, {"Málaga", "Andalucía"}, {"Bilbao", "País Vasco"},
			{"Zaragoza", "Aragón"}, {"A Coruña", "Galicia"}, {"Palma", "Illes Balears"},
		},
		firstNames: []string{"María", "José", "Lucía", "Antonio", "Carmen", "Manuel", "Laura", "Javier", "Sofía", "Pablo", "Elena", "Álvaro", "Marta", "Sergio", "Nuria", "Íñigo"},
		lastNames:  []string{"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Muñoz", "Ibáñez"},
		phone:      func(r randSource) string { return "+34 6" + digits(r, 2) + " " + digits(r, 3) + " " + digits(r, 3) },
	},
	{
		code: "DE", currency: "EUR", fxFromEUR: 10000, weight: 20,
		cities: []city{
			{"Berlin", "Berlin"}, {"München", "Bayern"}, {"Hamburg", "Hamburg"}, {"Köln", "Nordrhein-Westfalen"},
			{"Frankfurt am Main", "Hessen"}, {"Stuttgart", "Baden-Württemberg"}, {"Düsseldorf", "Nordrhein-Westfalen"},
			{"Leipzig", "Sachsen"},
		},
		firstNames: []string{"Anna", "Lukas", "Julia", "Maximilian", "Lea", "Felix", "Hannah", "Jonas", "Sophie", "Leon", "Katharina", "Paul", "Jürgen", "Sabine"},
		lastNames:  []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Krüger"},
		phone:      func(r randSource) string { return "+49 15" + digits(r, 1) + " " + digits(r, 7) },
	},
	{
		code: "FR", currency: "EUR", fxFromEUR: 10000, weight: 15,
		cities: []city{
			{"Paris", "Île-de-France"}, {"Lyon", "Auvergne-Rhône-Alpes"}, {"Marseille", "Provence-Alpes-Côte d'Azur"},
			{"Toulouse", "Occitanie"}, {"Bordeaux", "Nouvelle-Aquitaine"}, {"Lille", "Hauts-de-France"},
			{"Nantes", "Pays de la Loire"}, {"Strasbourg", "Grand Est"},
		},
		firstNames: []string{"Camille", "Louis", "Chloé", "Hugo", "Manon", "Gabriel", "Léa", "Arthur", "Inès", "Jules", "Zoé", "Théo", "Hélène", "François"},
		lastNames:  []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Girard"},
		phone: func(r randSource) string {
			return "+33 6 " + digits(r, 2) + " " + digits(r, 2) + " " + digits(r, 2) + " " + digits(r, 2)
		},
	},
	{
		code: "IT", currency: "EUR", fxFromEUR: 10000, weight: 10,
		cities: []city{
			{"Milano", "Lombardia"}, {"Roma", "Lazio"}, {"Torino", "Piemonte"}, {"Napoli", "Campania"},
			{"Bologna", "Emilia-Romagna"}, {"Firenze", "Toscana"}, {"Palermo", "Sicilia"},
		},
		firstNames: []string{"Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Lorenzo", "Sara", "Matteo", "Martina", "Davide", "Nicolò", "Elisa"},
		lastNames:  []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo"},
		phone:      func(r randSource) string { return "+39 3" + digits(r, 2) + " " + digits(r, 3) + " " + digits(r, 4) },
	},
	{
		code: "GB", currency: "GBP", fxFromEUR: 8500, weight: 10,
		cities: []city{
			{"London", "England"}, {"Manchester", "England"}, {"Birmingham", "England"}, {"Leeds", "England"},
			{"Bristol", "England"}, {"Edinburgh", "Scotland"}, {"Glasgow", "Scotland"}, {"Cardiff", "Wales"},
			{"Belfast", "Northern Ireland"},
		},
		firstNames: []string{"Oliver", "Amelia", "George", "Olivia", "Harry", "Isla", "Jack", "Emily", "Charlie", "Poppy", "Siobhan", "Rhys"},
		lastNames:  []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "O'Brien", "Evans"},
		phone:      func(r randSource) string { return "+44 7" + digits(r, 3) + " " + digits(r, 6) },
	},
	{
		code: "US", currency: "USD", fxFromEUR: 10800, weight: 15,
		cities: []city{
			{"New York", "NY"}, {"Los Angeles", "CA"}, {"Chicago", "IL"}, {"Houston", "TX"}, {"Phoenix", "AZ"},
			{"Seattle", "WA"}, {"Miami", "FL"}, {"Denver", "CO"}, {"Atlanta", "GA"}, {"Boston", "MA"},
		},
		firstNames: []string{"James", "Mary", "Michael", "Jennifer", "David", "Linda", "Daniel", "Ashley", "Christopher", "Jessica", "Tyler", "Brittany"},
		lastNames:  []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Nguyen", "Rivera"},
		phone: func(r randSource) string {
			return "+1 " + string(rune('2'+r.IntN(8))) + digits(r, 2) + "-" + string(rune('2'+r.IntN(8))) + digits(r, 2) + "-" + digits(r, 4)
		},
	},
}

var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example"}

var companySuffixes = []string{"motors", "logistics", "group", "consulting", "rentals", "delivery", "partners", "services"}

// modelSpec describes one real-world model line. Prices are indicative new
// prices in EUR; used vehicles depreciate from them.
type modelSpec struct {
	make, model string
	wmi         string // world manufacturer identifier, VIN positions 1-3
	bodies      []string
	fuels       []string
	basePrice   int64 // EUR, whole units
	firstYear   int
}

var models = []modelSpec{
	{"Toyota", "Corolla", "SB1", []string{"hatchback", "sedan", "estate"}, []string{"hybrid", "petrol"}, 27000, 2013},
	{"Toyota", "Yaris", "VNK", []string{"hatchback"}, []string{"hybrid", "petrol"}, 19500, 2012},
	{"Toyota", "RAV4", "JTM", []string{"suv"}, []string{"hybrid", "plug-in hybrid"}, 38000, 2013},
	{"Toyota", "Hilux", "AHT", []string{"pickup"}, []string{"diesel"}, 36000, 2012},
	{"Volkswagen", "Golf", "WVW", []string{"hatchback", "estate"}, []string{"petrol", "diesel", "plug-in hybrid"}, 29000, 2012},
	{"Volkswagen", "Polo", "WVW", []string{"hatchback"}, []string{"petrol"}, 20000, 2012},
	{"Volkswagen", "Tiguan", "WVG", []string{"suv"}, []string{"petrol", "diesel", "plug-in hybrid"}, 38500, 2012},
	{"Volkswagen", "ID.4", "WVG", []string{"suv"}, []string{"electric"}, 44000, 2021},
	{"Volkswagen", "Transporter", "WV1", []string{"van"}, []string{"diesel"}, 41000, 2012},
	{"BMW", "3 Series", "WBA", []string{"sedan", "estate"}, []string{"petrol", "diesel", "plug-in hybrid"}, 45000, 2012},
	{"BMW", "X5", "WBA", []string{"suv"}, []string{"diesel", "petrol", "plug-in hybrid"}, 78000, 2012},
	{"BMW", "i4", "WBY", []string{"liftback"}, []string{"electric"}, 57000, 2022},
	{"Mercedes-Benz", "C-Class", "WDD", []string{"sedan", "estate"}, []string{"petrol", "diesel", "plug-in hybrid"}, 47000, 2012},
	{"Mercedes-Benz", "GLC", "W1N", []string{"suv"}, []string{"diesel", "petrol", "plug-in hybrid"}, 56000, 2016},
	{"Mercedes-Benz", "Sprinter", "WDB", []string{"van"}, []string{"diesel", "electric"}, 48000, 2012},
	{"Audi", "A4", "WAU", []string{"sedan", "estate"}, []string{"petrol", "diesel"}, 43000, 2012},
	{"Audi", "Q5", "WA1", []string{"suv"}, []string{"petrol", "diesel", "plug-in hybrid"}, 55000, 2012},
	{"Audi", "Q4 e-tron", "WAU", []string{"suv"}, []string{"electric"}, 50000, 2021},
	{"Ford", "Focus", "WF0", []string{"hatchback", "estate"}, []string{"petrol", "diesel"}, 25000, 2012},
	{"Ford", "Transit", "WF0", []string{"van"}, []string{"diesel"}, 39000, 2012},
	{"Ford", "Mustang", "1FA", []string{"coupe", "convertible"}, []string{"petrol"}, 52000, 2015},
	{"Ford", "Mustang Mach-E", "3FM", []string{"suv"}, []string{"electric"}, 51000, 2021},
	{"Ford", "F-150", "1FT", []string{"pickup"}, []string{"petrol", "hybrid"}, 47000, 2012},
	{"Renault", "Clio", "VF1", []string{"hatchback"}, []string{"petrol", "diesel", "hybrid"}, 19000, 2012},
	{"Renault", "Megane E-Tech", "VF1", []string{"hatchback"}, []string{"electric"}, 38000, 2022},
	{"Renault", "Kangoo", "VF1", []string{"van"}, []string{"diesel", "electric"}, 27000, 2012},
	{"Peugeot", "208", "VF3", []string{"hatchback"}, []string{"petrol", "electric"}, 21000, 2012},
	{"Peugeot", "3008", "VF3", []string{"suv"}, []string{"petrol", "diesel", "plug-in hybrid"}, 36000, 2016},
	{"SEAT", "Leon", "VSS", []string{"hatchback", "estate"}, []string{"petrol", "diesel", "plug-in hybrid"}, 26000, 2012},
	{"SEAT", "Ibiza", "VSS", []string{"hatchback"}, []string{"petrol"}, 17500, 2012},
	{"Cupra", "Born", "VSS", []string{"hatchback"}, []string{"electric"}, 40000, 2021},
	{"Škoda", "Octavia", "TMB", []string{"liftback", "estate"}, []string{"petrol", "diesel"}, 28000, 2012},
	{"Fiat", "500", "ZFA", []string{"hatchback", "convertible"}, []string{"petrol", "electric"}, 17000, 2012},
	{"Fiat", "Panda", "ZFA", []string{"hatchback"}, []string{"petrol", "hybrid"}, 14500, 2012},
	{"Tesla", "Model 3", "5YJ", []string{"sedan"}, []string{"electric"}, 42000, 2018},
	{"Tesla", "Model Y", "7SA", []string{"suv"}, []string{"electric"}, 45000, 2020},
	{"Hyundai", "Tucson", "TMA", []string{"suv"}, []string{"petrol", "hybrid", "plug-in hybrid"}, 33000, 2015},
	{"Hyundai", "Ioniq 5", "KMH", []string{"suv"}, []string{"electric"}, 47000, 2021},
	{"Kia", "Sportage", "U5Y", []string{"suv"}, []string{"petrol", "diesel", "hybrid"}, 32000, 2012},
	{"Kia", "EV6", "KNA", []string{"crossover"}, []string{"electric"}, 48000, 2021},
	{"Volvo", "XC60", "YV1", []string{"suv"}, []string{"mild hybrid", "plug-in hybrid"}, 52000, 2012},
	{"Honda", "Civic", "SHH", []string{"hatchback", "sedan"}, []string{"petrol", "hybrid"}, 30000, 2012},
	{"Nissan", "Leaf", "SJN", []string{"hatchback"}, []string{"electric"}, 33000, 2012},
	{"Nissan", "Qashqai", "SJN", []string{"suv"}, []string{"petrol", "mild hybrid", "hybrid"}, 31000, 2012},
	{"Dacia", "Sandero", "UU1", []string{"hatchback"}, []string{"petrol", "lpg"}, 13000, 2012},
	{"Dacia", "Duster", "UU1", []string{"suv"}, []string{"petrol", "diesel", "lpg"}, 18000, 2012},
	{"Chevrolet", "Silverado", "1GC", []string{"pickup"}, []string{"petrol", "diesel"}, 45000, 2012},
	{"Porsche", "Taycan", "WP0", []string{"sedan"}, []string{"electric"}, 95000, 2020},
	{"Porsche", "911", "WP0", []string{"coupe", "convertible"}, []string{"petrol"}, 125000, 2012},
}

var colors = []string{"white", "black", "silver", "grey", "blue", "red", "green", "beige", "brown", "orange", "yellow", "dark blue", "pearl white", "graphite"}

var trims = []string{"Base", "Comfort", "Style", "Sport", "Premium", "Luxury", "Active", "Elegance", "Limited", "Platinum", "Business", "Edition", "Performance", "Adventure"}

var options = []string{
	"adaptive cruise control", "lane keeping assist", "blind spot monitor", "rear view camera", "360° camera",
	"parking sensors front and rear", "park assist", "heated front seats", "ventilated seats", "heated steering wheel",
	"panoramic sunroof", "electric tailgate", "keyless entry", "head-up display", "matrix LED headlights",
	"ambient lighting", "wireless charging", "Apple CarPlay", "Android Auto", "premium sound system",
	"navigation system", "digital cockpit", "towing hitch", "roof rails", "tinted rear windows",
	"alloy wheels 18\"", "alloy wheels 19\"", "winter tyres", "spare wheel", "three-zone climate control",
	"leather upholstery", "memory seats", "electric seats", "massage seats", "sport suspension",
	"adaptive dampers", "all-wheel drive", "heat pump", "fast charging 150 kW", "vehicle-to-load",
}

var equipmentCategories = []string{"safety", "comfort", "infotainment", "exterior", "interior", "drivetrain", "lighting", "assistance", "wheels", "charging"}

// vocabulary feeds the descriptions of large feature documents. It is long
// and the text is assembled at random with codes and numbers, so that
// PostgreSQL's compression cannot shrink it back under the TOAST threshold.
var vocabulary = []string{
	"the", "vehicle", "comes", "with", "fully", "documented", "service", "history", "and", "factory", "warranty",
	"remaining", "original", "paint", "interior", "shows", "minor", "wear", "on", "driver", "seat", "bolster",
	"tyres", "replaced", "recently", "brake", "discs", "pads", "front", "rear", "axle", "inspected", "by",
	"certified", "technician", "software", "update", "installed", "infotainment", "module", "battery", "health",
	"measured", "at", "percent", "capacity", "charging", "port", "cover", "realigned", "windscreen", "chip",
	"repaired", "under", "insurance", "timing", "belt", "changed", "according", "to", "schedule", "gearbox",
	"oil", "filter", "cabin", "air", "spark", "plugs", "coolant", "flushed", "alignment", "checked", "steering",
	"rack", "suspension", "bushings", "door", "seals", "sunroof", "drains", "cleaned", "headlight", "lenses",
	"polished", "keys", "two", "one", "spare", "manual", "booklet", "present", "navigation", "maps", "updated",
	"dashcam", "wiring", "removed", "tow", "bar", "electrically", "folding", "mirrors", "adjusted", "sensor",
	"calibrated", "radar", "camera", "lane", "assist", "parking", "heated", "seats", "verified", "working",
	"climate", "control", "compressor", "regas", "performed", "exhaust", "emissions", "within", "limits",
	"inspection", "passed", "without", "advisories", "bodywork", "small", "dent", "left", "quarter", "panel",
	"smart", "repair", "alloy", "wheel", "refurbished", "kerb", "damage", "scratch", "bumper", "resprayed",
	"upholstery", "leather", "conditioned", "carpets", "shampooed", "odour", "treatment", "nonsmoker",
	"previous", "owner", "company", "car", "lease", "return", "low", "mileage", "mostly", "motorway",
	"driven", "garaged", "winter", "summer", "set", "included", "stored", "dealer", "premises", "recall",
	"campaign", "completed", "airbag", "control", "unit", "replaced", "free", "charge", "extended", "roadside",
	"assistance", "valid", "until", "registration", "documents", "logbook", "stamped", "receipts", "available",
	"request", "test", "drive", "appointment", "financing", "options", "trade-in", "accepted", "delivery",
	"nationwide", "handover", "video", "call", "detailed", "photos", "gallery", "condition", "report",
	"graded", "excellent", "very", "good", "fair", "scores", "mechanical", "electrical", "cosmetic",
}
