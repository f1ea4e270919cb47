package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/ezscale/billing/store"
)

// country is where a demo customer lives: what it pays in and what its addresses look like.
type country struct {
	code     string
	weight   int
	currency string
	eu       bool // EU member: business customers may have a VAT id
	cities   []string
	states   []string // US states; empty elsewhere
	phone    string   // dialling prefix
}

var countries = []country{
	{code: "US", weight: 34, currency: "USD", phone: "+1", cities: []string{"Austin", "Seattle", "Denver", "Chicago", "Miami", "Portland", "Boston", "Phoenix"},
		states: []string{"TX", "WA", "CO", "IL", "FL", "OR", "MA", "AZ", "CA", "NY", "VA", "NC"}},
	{code: "GB", weight: 11, currency: "USD", phone: "+44", cities: []string{"London", "Manchester", "Leeds", "Bristol", "Edinburgh"}},
	{code: "DE", weight: 10, currency: "EUR", eu: true, phone: "+49", cities: []string{"Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt"}},
	{code: "FR", weight: 6, currency: "EUR", eu: true, phone: "+33", cities: []string{"Paris", "Lyon", "Lille", "Toulouse"}},
	{code: "NL", weight: 6, currency: "EUR", eu: true, phone: "+31", cities: []string{"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"}},
	{code: "ES", weight: 3, currency: "EUR", eu: true, phone: "+34", cities: []string{"Madrid", "Barcelona", "Valencia"}},
	{code: "IT", weight: 3, currency: "EUR", eu: true, phone: "+39", cities: []string{"Milan", "Rome", "Turin"}},
	{code: "PL", weight: 3, currency: "EUR", eu: true, phone: "+48", cities: []string{"Warsaw", "Krakow", "Wroclaw"}},
	{code: "SE", weight: 2, currency: "EUR", eu: true, phone: "+46", cities: []string{"Stockholm", "Gothenburg"}},
	{code: "IE", weight: 2, currency: "EUR", eu: true, phone: "+353", cities: []string{"Dublin", "Cork"}},
	{code: "FI", weight: 2, currency: "EUR", eu: true, phone: "+358", cities: []string{"Helsinki", "Espoo"}},
	{code: "CA", weight: 6, currency: "USD", phone: "+1", cities: []string{"Toronto", "Vancouver", "Montreal"}},
	{code: "AU", weight: 4, currency: "USD", phone: "+61", cities: []string{"Sydney", "Melbourne", "Brisbane"}},
	{code: "BR", weight: 3, currency: "USD", phone: "+55", cities: []string{"Sao Paulo", "Rio de Janeiro"}},
	{code: "IN", weight: 3, currency: "USD", phone: "+91", cities: []string{"Bengaluru", "Mumbai", "Pune"}},
	{code: "SG", weight: 2, currency: "USD", phone: "+65", cities: []string{"Singapore"}},
}

var firstNames = []string{"James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sophia", "Mateo", "Isla",
	"Leon", "Hannah", "Felix", "Clara", "Hugo", "Chloe", "Lars", "Freya", "Marco", "Giulia", "Jakub", "Zofia", "Sean", "Aoife",
	"Daan", "Sanne", "Pablo", "Lucia", "Arjun", "Priya", "Wei", "Mei", "Rafael", "Beatriz", "Oskar", "Elsa", "Tom", "Grace",
	"Daniel", "Laura", "Samuel", "Nora", "Adam", "Eva", "Victor", "Julia", "Max", "Lena", "Ryan", "Zoe", "Kai", "Maya"}

var lastNames = []string{"Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Garcia", "Miller", "Davis", "Clark",
	"Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Laurent", "Bernard", "de Vries", "Jansen", "Bakker",
	"Rossi", "Bianchi", "Nowak", "Kowalski", "Murphy", "Kelly", "Lopez", "Fernandez", "Sanchez", "Nilsson", "Lindqvist",
	"Virtanen", "Patel", "Sharma", "Tan", "Lim", "Silva", "Santos", "Walker", "Young", "King", "Wright", "Hill", "Green"}

var companyWords = []string{"Blue", "North", "Iron", "Swift", "Bright", "Cedar", "Pixel", "Orbit", "Harbor", "Summit",
	"Nimbus", "Vertex", "Copper", "Atlas", "Falcon", "Maple", "Quartz", "Lumen", "Echo", "Polar"}

var companyNouns = []string{"Labs", "Digital", "Studios", "Networks", "Media", "Games", "Software", "Systems", "Works", "Cloud"}

var companySuffix = map[string]string{"US": "LLC", "GB": "Ltd", "DE": "GmbH", "FR": "SARL", "NL": "B.V.", "ES": "S.L.",
	"IT": "S.r.l.", "PL": "Sp. z o.o.", "SE": "AB", "IE": "Ltd", "FI": "Oy", "CA": "Inc.", "AU": "Pty Ltd", "BR": "Ltda", "IN": "Pvt Ltd", "SG": "Pte Ltd"}

// person is a demo customer's identity and address.
type person struct {
	name, email string
	country     country
	profile     store.Profile
	vatID       string
}

func newPerson(r *rand.Rand, n int) person {
	c := pickWeighted(r, countries, func(c country) int { return c.weight })
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	local := strings.ToLower(strings.ReplaceAll(first+"."+last, " ", ""))
	p := person{
		name:    first + " " + last,
		email:   fmt.Sprintf("%s.%d@demo.example", local, n),
		country: c,
		profile: store.Profile{
			Phone:    fmt.Sprintf("%s %d", c.phone, 200000000+r.IntN(700000000)),
			Address1: fmt.Sprintf("%d %s Street", 1+r.IntN(220), lastNames[r.IntN(len(lastNames))]),
			City:     c.cities[r.IntN(len(c.cities))],
			Postcode: fmt.Sprintf("%05d", 1000+r.IntN(98000)),
			Country:  c.code,
		},
	}
	if len(c.states) > 0 {
		p.profile.State = c.states[r.IntN(len(c.states))]
	}
	if r.IntN(100) < 45 {
		p.profile.Company = fmt.Sprintf("%s%s %s %s", companyWords[r.IntN(len(companyWords))],
			strings.ToLower(companyWords[r.IntN(len(companyWords))]), companyNouns[r.IntN(len(companyNouns))], companySuffix[c.code])
		if c.eu && r.IntN(100) < 65 {
			p.vatID = fmt.Sprintf("%s%09d", c.code, r.IntN(1000000000))
		}
	}
	return p
}

// pickWeighted draws one item with probability proportional to its weight.
func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.IntN(total)
	for _, it := range items {
		if n -= weight(it); n < 0 {
			return it
		}
	}
	return items[len(items)-1]
}
