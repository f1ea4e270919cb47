// Package billing is the money arithmetic of EZSCALE: amounts, billing cycles, proration,
// tax, coupons, invoice totals, account credit and payment settlement. It is pure functions
// over values: no I/O, no clock (callers pass times in), no floats, standard library only.
//
// # Money
//
// A Money is an int64 count of minor units of an ISO 4217 currency (USD 12.34 is 1234; JPY
// 1234 is 1234 yen; KWD 1.005 is 1005 fils). Amounts of different currencies are never added
// or compared (ErrCurrencyMismatch), sums past int64 are ErrOverflow, and products of an
// amount and a ratio are formed exactly in 128 bits before dividing. PayPal's decimal strings
// are read with ParseDecimal and written with Money.Decimal; Stripe's integers are Amount.
//
// # Rounding
//
// One rule everywhere a fraction of a minor unit appears: round to the nearest minor unit,
// halves away from zero (2.5 → 3, -2.5 → -3). It applies to Money.MulRatio, proration (with
// the one-unit reconciliation described below), tax (once per level, on the invoice's taxable
// base), percent coupons (per line) and Cycle.MonthlyEquivalent. Money.Allocate does not
// round: it hands out floors and gives the leftover units to the largest remainders, so the
// parts always sum to the whole. Parsing never rounds: ParseDecimal refuses digits the
// currency cannot hold (ErrTooPrecise).
//
// # Cycles and due dates
//
// Cycles add calendar months. The day of month is the subscription's anchor day clamped to
// the month's length, so a monthly subscription started on 31 January is due 29 February
// 2024 (28 February 2023), 31 March, 30 April, 31 May: Cycle.NextDueAnchored with the anchor
// kept, or Cycle.DueDate(start, n) computed from the start.
//
// # Proration
//
// A plan change is valued by whole days: days are UTC calendar dates, the period has
// total = DaysBetween(start, end) days, and remaining = DaysBetween(change, end) of them
// belong to the new plan (the change date itself included). Then
//
//	Net    = round((NewPrice − OldPrice) × remaining / total)  what the change costs (< 0: a credit)
//	Credit = round(OldPrice × remaining / total)              unused part of the old plan
//	Charge = round(NewPrice × remaining / total)              new plan for the remaining days
//
// Net is rounded from the price difference itself, so |Net| is never more than the rounded
// price difference for the remaining days. Credit and Charge are rounded on their own, and in
// the rare case that their difference is not Net the one rounded further from its exact value
// (Charge on a tie) moves one unit to the other side of it: Charge − Credit = Net always, and
// Credit and Charge stay the floor or ceiling of their exact values. Worked examples (each is
// a case in proration_test.go):
//
//	Upgrade, USD 10.00 → 25.00, period 2024-03-01..2024-04-01 (31 days), change 2024-03-17 (15 days left):
//	  Credit = 1000×15/31 =  483.87 → USD 4.84
//	  Charge = 2500×15/31 = 1209.68 → USD 12.10
//	  Net    = 1500×15/31 =  725.81 → USD 7.26 to pay now
//	Downgrade, USD 25.00 → 10.00, same dates:
//	  Credit = USD 12.10, Charge = USD 4.84, Net = −725.81 → USD −7.26 (credited to the account)
//	Leap February, JPY 1000 → 2500, period 2024-02-01..2024-03-01 (29 days), change 2024-02-20 (10 left):
//	  Credit = 10000/29 = 344.83 → JPY 345, Charge = 25000/29 = 862.07 → JPY 862, Net = 15000/29 = 517.24 → JPY 517
//	Common February, same prices, 2023-02-01..2023-03-01 (28 days), change 2023-02-20 (9 left):
//	  Credit = 321.43 → JPY 321, Net = 482.14 → JPY 482, Charge = 803.57 → JPY 803 (not 804: Charge − Credit = Net)
//	Three decimals, KWD 12.500 → 20.000 annual, period 2024-01-31..2025-01-31 (366 days),
//	change 2024-07-15 (200 days left):
//	  Credit = 12500×200/366 = 6830.60 → KWD 6.831, Charge = 20000×200/366 = 10928.96 → KWD 10.929,
//	  Net = 7500×200/366 = 4098.36 → KWD 4.098
//
// # Tax and coupons
//
// Tax rates are integer milli-percent (21% = 21000, 8.875% = 8875) in two levels as in WHMCS;
// a compound level 2 is charged on the base plus level-1 tax: CAD 100.00 with 5% and a
// compound 9.5% is 5.00 + 105.00 × 9.5% = 9.975 → 9.98. An EU seller charges no VAT to a
// buyer in another member state with a VAT id of valid format ("Reverse charge" on the
// invoice). Coupon percentages are basis points (25% = 2500): 25% off USD 19.99 is 4.9975 →
// USD 5.00; fixed coupons take their amount in the invoice currency; neither takes a line
// below zero.
//
// # Invoices
//
// An Invoice is lines; discounts, taxes and applied credit are lines too and every total is a
// sum of lines. BuildInvoice prices in a fixed order: items, coupon discounts, tax on the
// discounted taxable base, then account credit up to the amount due (never past zero).
// Account credit itself lives in a CreditLedger whose balance cannot go negative, and an
// invoice's payments and refunds in a Settlement whose refunds cannot exceed what was paid.
package billing
