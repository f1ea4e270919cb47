package billing

import "errors"

// Sentinel errors. Every error this package returns wraps exactly one of these, so callers
// (and the one HTTP mapping function) can use errors.Is; the wrapping text carries the numbers.
var (
	// ErrCurrencyMismatch means two amounts in different currencies were combined or compared.
	ErrCurrencyMismatch = errors.New("billing: currency mismatch")
	// ErrUnknownCurrency means a currency code is not one whose minor-unit exponent this package knows.
	ErrUnknownCurrency = errors.New("billing: unknown currency")
	// ErrOverflow means a result does not fit in an int64 number of minor units.
	ErrOverflow = errors.New("billing: amount overflow")
	// ErrDivisionByZero means a ratio had a zero denominator.
	ErrDivisionByZero = errors.New("billing: division by zero")
	// ErrInvalidAmount means an amount has the wrong sign for the operation (for example a zero payment).
	ErrInvalidAmount = errors.New("billing: invalid amount")
	// ErrInvalidDecimal means a decimal string is not of the form [-]digits[.digits].
	ErrInvalidDecimal = errors.New("billing: invalid decimal amount")
	// ErrTooPrecise means a decimal string has more fractional digits than the currency has minor units.
	ErrTooPrecise = errors.New("billing: more decimals than the currency allows")
	// ErrInvalidWeights means allocation weights were negative, all zero, or summed past int64.
	ErrInvalidWeights = errors.New("billing: invalid allocation weights")

	// ErrUnknownCycle means a billing cycle name is not one of the Cycle constants.
	ErrUnknownCycle = errors.New("billing: unknown billing cycle")
	// ErrInvalidPeriod means a billing period does not end at least one day after it starts.
	ErrInvalidPeriod = errors.New("billing: invalid billing period")
	// ErrChangeOutsidePeriod means a plan change date lies before the period start or after its end.
	ErrChangeOutsidePeriod = errors.New("billing: change date outside the billing period")

	// ErrInvalidTaxRule means a tax rule has a bad level or rate.
	ErrInvalidTaxRule = errors.New("billing: invalid tax rule")
	// ErrTaxRuleConflict means two equally specific tax rules of the same level match one customer.
	ErrTaxRuleConflict = errors.New("billing: conflicting tax rules")

	// ErrInvalidCoupon means a coupon is misconfigured (bad percentage, duration, duplicate code).
	ErrInvalidCoupon = errors.New("billing: invalid coupon")
	// ErrCouponExpired means a coupon is redeemed at or after its expiry time.
	ErrCouponExpired = errors.New("billing: coupon expired")
	// ErrCouponExhausted means a coupon has reached its maximum number of uses.
	ErrCouponExhausted = errors.New("billing: coupon has no uses left")
	// ErrCouponAlreadyUsed means a once-per-customer coupon was already redeemed by this customer.
	ErrCouponAlreadyUsed = errors.New("billing: coupon already used by this customer")
	// ErrCouponNotApplicable means a coupon being redeemed matches no line of the invoice.
	ErrCouponNotApplicable = errors.New("billing: coupon does not apply to these items")
	// ErrCouponNotStackable means a coupon that cannot be combined was used together with another.
	ErrCouponNotStackable = errors.New("billing: coupon cannot be combined with other coupons")
	// ErrCouponCurrency means a fixed-amount coupon has no amount in the invoice currency.
	ErrCouponCurrency = errors.New("billing: coupon has no amount in this currency")

	// ErrInvalidLine means an invoice line has a kind or amount BuildInvoice does not accept.
	ErrInvalidLine = errors.New("billing: invalid invoice line")
	// ErrInsufficientCredit means an operation would make an account credit balance negative.
	ErrInsufficientCredit = errors.New("billing: insufficient account credit")

	// ErrRefundExceedsPaid means a refund is larger than what was paid and not yet refunded.
	ErrRefundExceedsPaid = errors.New("billing: refund exceeds amount paid")
	// ErrNotIssued means a payment was recorded against an invoice that is still a draft.
	ErrNotIssued = errors.New("billing: invoice not issued")
	// ErrDuplicatePayment means a payment with the same gateway and transaction id was already recorded.
	ErrDuplicatePayment = errors.New("billing: duplicate payment")
	// ErrDuplicateRefund means a refund with the same gateway and refund id was already recorded.
	ErrDuplicateRefund = errors.New("billing: duplicate refund")
)
