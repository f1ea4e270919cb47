package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// adminCoupons lists the coupons with the form to create one.
func (s *server) adminCoupons(w http.ResponseWriter, r *http.Request) {
	s.renderCoupons(w, r, http.StatusOK, nil, nil)
}

func (s *server) renderCoupons(w http.ResponseWriter, r *http.Request, status int, form, errs map[string]string) {
	coupons, err := s.Store.Coupons(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminCoupons{}
	for _, c := range coupons {
		v.Coupons = append(v.Coupons, couponRow(c))
	}
	p := s.page(r, "Coupons", v)
	if form != nil {
		p.Form, p.Errors = form, errs
		p.Error = "The coupon was not created: please correct the highlighted fields."
	}
	if p.Flash == "" {
		p.Flash = map[string]string{"created": "The coupon is created.", "retired": "The coupon is retired."}[r.URL.Query().Get("done")]
	}
	s.render(w, r, status, "admin_coupons", p)
}

func couponRow(c store.Coupon) web.CouponRow {
	rules := c.Rules
	row := web.CouponRow{ID: c.ID, Code: rules.Code, Retired: c.Retired, Stackable: rules.Stackable, OncePerCustomer: rules.OncePerCustomer}
	if rules.Kind == billing.CouponPercent {
		row.Discount = billing.FormatRate(rules.PercentBP * 10) // basis points → milli-percent
	} else {
		var parts []string
		for _, m := range rules.Fixed {
			parts = append(parts, m.String())
		}
		row.Discount = strings.Join(parts, ", ")
	}
	switch rules.Duration {
	case billing.CouponOnce:
		row.Duration = "first payment"
	case billing.CouponRepeating:
		row.Duration = fmt.Sprintf("%d cycles", rules.Cycles)
	default:
		row.Duration = "forever"
	}
	if !rules.ExpiresAt.IsZero() {
		row.Expires = rules.ExpiresAt.UTC().Format(time.DateOnly)
	}
	if rules.MaxUses > 0 {
		row.MaxUses = strconv.Itoa(rules.MaxUses)
	}
	for _, id := range rules.ProductIDs {
		row.Products = append(row.Products, strconv.FormatInt(id, 10))
	}
	return row
}

// adminCreateCoupon validates the form at the edge and stores the coupon; a bad field creates nothing.
func (s *server) adminCreateCoupon(w http.ResponseWriter, r *http.Request) {
	f := map[string]string{}
	for _, k := range []string{"code", "kind", "percent", "amount", "currency", "duration", "cycles", "products", "expires", "max_uses"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	for _, k := range []string{"include_setup", "once_per_customer", "stackable"} {
		f[k] = r.PostFormValue(k)
	}
	c, errs := parseCoupon(f)
	if len(errs) > 0 {
		s.renderCoupons(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	created, err := s.Store.CreateCoupon(r.Context(), c)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.renderCoupons(w, r, http.StatusConflict, f, map[string]string{"code": "Another coupon has this code."})
		return
	case errors.Is(err, store.ErrInvalid):
		s.renderCoupons(w, r, http.StatusUnprocessableEntity, f, map[string]string{"code": err.Error()})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(couponRow(created))
	s.audit(r, "coupon.create", "coupon:"+strconv.FormatInt(created.ID, 10), details)
	http.Redirect(w, r, "/admin/coupons?done=created", http.StatusSeeOther)
}

// parseCoupon reads the coupon form; errors are keyed by field.
func parseCoupon(f map[string]string) (billing.Coupon, map[string]string) {
	errs := map[string]string{}
	c := billing.Coupon{Code: store.NormalizeCouponCode(f["code"]), Kind: billing.CouponKind(f["kind"]),
		Duration: billing.CouponDuration(f["duration"]), IncludeSetup: f["include_setup"] != "",
		OncePerCustomer: f["once_per_customer"] != "", Stackable: f["stackable"] != ""}
	if c.Code == "" {
		errs["code"] = "Enter a code, for example SPRING25."
	}
	switch c.Kind {
	case billing.CouponPercent:
		pct, err := billing.ParseDecimal(f["percent"], "USD") // two decimals: 12.5% is 1250 basis points
		if err != nil || pct.Amount < 1 || pct.Amount > billing.PercentScale {
			errs["percent"] = "Enter a percentage between 0.01 and 100."
		}
		c.PercentBP = pct.Amount
	case billing.CouponFixed:
		amount, err := billing.ParseDecimal(f["amount"], strings.ToUpper(f["currency"]))
		if err != nil || !amount.IsPositive() {
			errs["amount"] = "Enter a positive amount in a known currency."
		}
		c.Fixed = []billing.Money{amount}
	default:
		errs["kind"] = "Choose percent or fixed amount."
	}
	switch c.Duration {
	case billing.CouponOnce, billing.CouponForever:
	case billing.CouponRepeating:
		n, err := strconv.Atoi(f["cycles"])
		if err != nil || n < 1 || n > 120 {
			errs["cycles"] = "Enter how many billing cycles, 1 to 120."
		}
		c.Cycles = n
	default:
		errs["duration"] = "Choose how long the discount lasts."
	}
	for _, v := range strings.FieldsFunc(f["products"], func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			errs["products"] = "List product ids separated by commas, or leave empty for every product."
			break
		}
		c.ProductIDs = append(c.ProductIDs, id)
	}
	if f["expires"] != "" {
		t, err := time.Parse(time.DateOnly, f["expires"])
		if err != nil {
			errs["expires"] = "Enter a date as YYYY-MM-DD."
		}
		c.ExpiresAt = t
	}
	if f["max_uses"] != "" {
		n, err := strconv.Atoi(f["max_uses"])
		if err != nil || n < 0 {
			errs["max_uses"] = "Enter a whole number, or leave empty for unlimited."
		}
		c.MaxUses = n
	}
	if len(errs) == 0 {
		if err := billing.ValidateCoupon(c); err != nil {
			errs["code"] = err.Error()
		}
	}
	return c, errs
}

func (s *server) adminRetireCoupon(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.Store.RetireCoupon(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "coupon.retire", "coupon:"+strconv.FormatInt(id, 10), nil)
	http.Redirect(w, r, "/admin/coupons?done=retired", http.StatusSeeOther)
}

// adminBillingSettings shows the tax rules and the invoice numbering.
func (s *server) adminBillingSettings(w http.ResponseWriter, r *http.Request) {
	s.renderBillingSettings(w, r, http.StatusOK, nil, nil)
}

func (s *server) renderBillingSettings(w http.ResponseWriter, r *http.Request, status int, form, errs map[string]string) {
	ctx := r.Context()
	rules, err := s.Store.TaxRules(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series, err := s.Store.InvoiceSeriesByName(ctx, store.DefaultSeries)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.BillingSettings{Prefix: series.Prefix, Next: series.Next}
	for _, t := range rules {
		v.TaxRules = append(v.TaxRules, web.TaxRuleRow{ID: t.ID, Level: t.Rule.Level, Name: t.Rule.Name, Country: t.Rule.Country,
			State: t.Rule.State, Rate: billing.FormatRate(t.Rule.RateMilliPercent), Compound: t.Rule.Compound})
	}
	p := s.page(r, "Billing settings", v)
	if form != nil {
		p.Form, p.Errors = form, errs
		p.Error = "Nothing was changed: please correct the highlighted fields."
	}
	if p.Flash == "" {
		p.Flash = map[string]string{"tax-added": "The tax rule is added.", "tax-deleted": "The tax rule is deleted.",
			"numbering": "Invoice numbering is saved."}[r.URL.Query().Get("done")]
	}
	s.render(w, r, status, "admin_billing_settings", p)
}

func (s *server) adminCreateTaxRule(w http.ResponseWriter, r *http.Request) {
	f := map[string]string{}
	for _, k := range []string{"level", "name", "country", "state", "rate"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	f["compound"] = r.PostFormValue("compound")
	errs := map[string]string{}
	level, err := strconv.Atoi(f["level"])
	if err != nil || (level != 1 && level != 2) {
		errs["level"] = "Choose level 1 or 2."
	}
	if f["name"] == "" || len(f["name"]) > 40 {
		errs["name"] = "Enter the tax's name as printed, for example VAT."
	}
	country := strings.ToUpper(f["country"])
	if country != "" && (len(country) != 2 || strings.ToUpper(country) != country || !isLetters(country)) {
		errs["country"] = "Enter a two-letter country code, or leave empty for every country."
	}
	rate, err := billing.ParseDecimal(f["rate"], "KWD") // three decimals: 8.875% is 8875 milli-percent
	if err != nil || rate.Amount < 0 || rate.Amount > billing.TaxRateScale {
		errs["rate"] = "Enter a rate between 0 and 100, up to three decimals."
	}
	compound := f["compound"] != ""
	if compound && level != 2 {
		errs["compound"] = "Only a level-2 tax can compound on level 1."
	}
	if len(errs) > 0 {
		s.renderBillingSettings(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	rule := billing.TaxRule{Level: level, Name: f["name"], Country: country, State: f["state"], RateMilliPercent: rate.Amount, Compound: compound}
	created, err := s.Store.CreateTaxRule(r.Context(), rule)
	if errors.Is(err, store.ErrInvalid) {
		s.renderBillingSettings(w, r, http.StatusUnprocessableEntity, f, map[string]string{"rate": err.Error()})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(rule)
	s.audit(r, "tax_rule.create", "tax_rule:"+strconv.FormatInt(created.ID, 10), details)
	http.Redirect(w, r, "/admin/billing?done=tax-added", http.StatusSeeOther)
}

func isLetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func (s *server) adminDeleteTaxRule(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.Store.DeleteTaxRule(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "tax_rule.delete", "tax_rule:"+strconv.FormatInt(id, 10), nil)
	http.Redirect(w, r, "/admin/billing?done=tax-deleted", http.StatusSeeOther)
}

func (s *server) adminSetNumbering(w http.ResponseWriter, r *http.Request) {
	f := map[string]string{"prefix": strings.TrimSpace(r.PostFormValue("prefix")), "next": strings.TrimSpace(r.PostFormValue("next"))}
	next, err := strconv.ParseInt(f["next"], 10, 64)
	if err != nil || next < 1 {
		s.renderBillingSettings(w, r, http.StatusUnprocessableEntity, f, map[string]string{"next": "Enter a whole number."})
		return
	}
	err = s.Store.SetInvoiceSeries(r.Context(), store.InvoiceSeries{Series: store.DefaultSeries, Prefix: f["prefix"], Next: next})
	if errors.Is(err, store.ErrInvalid) {
		s.renderBillingSettings(w, r, http.StatusUnprocessableEntity, f,
			map[string]string{"next": "The next number can only move forward, and the prefix has no spaces (20 characters at most)."})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(f)
	s.audit(r, "invoice_numbering.set", "invoice_series:"+store.DefaultSeries, details)
	http.Redirect(w, r, "/admin/billing?done=numbering", http.StatusSeeOther)
}
