package sandbox

import (
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/gateways"
)

// behaviour is what a test card does when charged.
type behaviour int

const (
	succeeds     behaviour = iota + 1
	declines               // refused on-session, so never saved
	authenticate           // asks for authentication on-session; refused off-session once saved
	failsLater             // pays on the hosted page and is saved, then declines off-session
)

// testCard describes a test card without its number: brand, last four digits and behaviour.
type testCard struct {
	brand     string
	last4     string
	behaviour behaviour
}

// testCards are the numbers the hosted page accepts, spaces removed.
var testCards = map[string]testCard{
	"4242424242424242": {brand: "visa", last4: "4242", behaviour: succeeds},
	"4000000000000002": {brand: "visa", last4: "0002", behaviour: declines},
	"4000002500003155": {brand: "visa", last4: "3155", behaviour: authenticate},
	"4000000000000341": {brand: "visa", last4: "0341", behaviour: failsLater},
}

// cardInput is what the customer typed on the hosted page.
type cardInput struct {
	number string
	expiry string
	cvc    string
}

// enteredCard is a recognised test card with its expiry; the number itself is dropped here.
type enteredCard struct {
	card     testCard
	expMonth int
	expYear  int
}

// parse checks the typed card against the test cards and the clock. A problem is a sentence
// shown to the customer; it never contains the number typed.
func (in cardInput) parse(now time.Time) (enteredCard, string) {
	number := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, in.number)
	card, ok := testCards[number]
	if !ok {
		return enteredCard{}, "That is not a sandbox test card. Use one of the test cards listed below."
	}
	month, year, ok := parseExpiry(in.expiry)
	if !ok {
		return enteredCard{}, "Enter the expiry date as MM / YY."
	}
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return enteredCard{}, "This card has expired."
	}
	cvc := strings.TrimSpace(in.cvc)
	if len(cvc) < 3 || len(cvc) > 4 || strings.Trim(cvc, "0123456789") != "" {
		return enteredCard{}, "Enter the 3 or 4 digit security code (CVC)."
	}
	return enteredCard{card: card, expMonth: month, expYear: year}, ""
}

// parseExpiry reads "MM/YY", "MM / YY" or "MM/YYYY".
func parseExpiry(s string) (month, year int, ok bool) {
	m, y, found := strings.Cut(strings.ReplaceAll(s, " ", ""), "/")
	if !found {
		return 0, 0, false
	}
	month, err := strconv.Atoi(m)
	if err != nil || month < 1 || month > 12 {
		return 0, 0, false
	}
	year, err = strconv.Atoi(y)
	switch {
	case err != nil || year < 0:
		return 0, 0, false
	case len(y) == 2:
		year += 2000
	case len(y) != 4:
		return 0, 0, false
	}
	return month, year, true
}

// declined is the error of a refused card.
func declined(paymentRef string) error {
	return &gateways.Error{Gateway: Name, Kind: gateways.ErrDeclined, Code: "card_declined",
		DeclineCode: "generic_decline", Message: "Your card was declined.", PaymentRef: paymentRef, HTTPStatus: 402}
}

// authenticationRequired is the error of a card whose bank wants the customer present.
func authenticationRequired(paymentRef string) error {
	return &gateways.Error{Gateway: Name, Kind: gateways.ErrAuthenticationRequired, Code: "authentication_required",
		Message: "The card's bank requires the customer to authenticate this payment.", PaymentRef: paymentRef, HTTPStatus: 402}
}
