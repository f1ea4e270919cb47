package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"go.temporal.io/api/serviceerror"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// Checkout in the portal: the order catalog (/order), the configure form of one product, the
// priced summary, placing the order and sending the customer to a gateway's hosted page.
// Amounts are always priced here by pricing.Pricer; nothing posted by the browser is trusted
// except the customer's choices.

// cycleWords are the billing cycles as a customer reads them: the label of a choice and the
// unit of a "per" price.
var cycleWords = map[billing.Cycle][2]string{
	billing.Monthly: {"Monthly", "month"}, billing.Quarterly: {"Quarterly", "quarter"},
	billing.SemiAnnual: {"Semi-annual", "6 months"}, billing.Annual: {"Annual", "year"},
	billing.Biennial: {"Biennial", "2 years"}, billing.Triennial: {"Triennial", "3 years"},
	billing.OneTime: {"One-time", "once"},
}

func cycleLabel(c billing.Cycle) string {
	if w, ok := cycleWords[c]; ok {
		return w[0]
	}
	return string(c)
}

// maxFieldLength bounds every free-text answer of the order form.
const maxFieldLength = 200

func priceMoney(amount int64, currency string) string {
	return money(billing.Money{Amount: amount, Currency: currency})
}

// orderProductView is a product as the order pages show it, with its prices in currency
// (each cycle once). A product not sold in currency shows the prices of the one it is sold in
// first (prices come sorted by currency, then cycle from shortest to longest).
func orderProductView(p store.CatalogProduct, prices []store.Price, currency string) web.OrderProduct {
	v := web.OrderProduct{ID: p.ID, Name: p.Name, Type: p.Type, TypeLabel: productTypeLabels[p.Type], Description: p.Description}
	if !slices.ContainsFunc(prices, func(pr store.Price) bool { return pr.Currency == currency }) && len(prices) > 0 {
		currency = prices[0].Currency
	}
	for _, pr := range prices {
		if pr.Currency != currency {
			continue
		}
		op := web.OrderPrice{Cycle: pr.Cycle, CycleLabel: cycleLabel(billing.Cycle(pr.Cycle)), Currency: pr.Currency,
			Amount: priceMoney(pr.Amount, pr.Currency)}
		if pr.SetupFee > 0 {
			op.Setup = priceMoney(pr.SetupFee, pr.Currency)
		}
		if len(v.Prices) == 0 { // the headline price is the shortest cycle
			v.From = op.Amount
			v.FromCycle = cycleWords[billing.Cycle(pr.Cycle)][1]
		}
		v.Prices = append(v.Prices, op)
	}
	return v
}

// orderable reports whether customers may order the product: visible, not retired, priced.
// Every product type (VPS, dedicated, web hosting, game server) is delivered on a control
// panel, so a product mapped to none is not offered: a paid order would have nothing to
// provision and the customer would pay for nothing.
func orderable(p store.CatalogProduct, prices []store.Price) bool {
	return !p.Hidden && !p.Retired && len(prices) > 0 && provisionable(p)
}

// provisionable reports whether the product is mapped to a control panel.
func provisionable(p store.CatalogProduct) bool {
	return p.PanelType.Valid && p.PanelType.String != ""
}

// soldOut reports whether the product's stock limit is reached.
func (s *server) soldOut(ctx context.Context, p store.CatalogProduct) (bool, error) {
	if !p.StockLimit.Valid {
		return false, nil
	}
	n, err := s.Store.CountLiveSubscriptions(ctx, p.ID)
	if err != nil {
		return false, err
	}
	return n >= p.StockLimit.Int64, nil
}

// orderCatalog lists the orderable products by group. Anyone may look; ordering needs a login.
func (s *server) orderCatalog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	groups, err := s.Store.ProductGroups(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	products, err := s.Store.CatalogProducts(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	prices, err := s.Store.CatalogPrices(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var sold []store.Price
	for _, p := range products {
		if orderable(p, prices[p.ID]) {
			sold = append(sold, prices[p.ID]...)
		}
	}
	v := web.OrderCatalog{Currencies: currencies(sold)}
	v.Currency = s.shopCurrency(r, v.Currencies)
	for _, g := range groups {
		row := web.OrderGroup{Name: g.Name, Description: g.Description}
		for _, p := range products {
			if p.GroupID != g.ID || !orderable(p, prices[p.ID]) {
				continue
			}
			pv := orderProductView(p, prices[p.ID], v.Currency)
			if pv.SoldOut, err = s.soldOut(ctx, p); err != nil {
				s.fail(w, r, err)
				return
			}
			row.Products = append(row.Products, pv)
		}
		if len(row.Products) > 0 {
			v.Groups = append(v.Groups, row)
		}
	}
	s.render(w, r, http.StatusOK, "order_catalog", s.page(r, "Order", v))
}

// orderableProduct loads the path's product with its prices; a hidden, retired or unpriced
// product is a 404, as if it did not exist.
func (s *server) orderableProduct(w http.ResponseWriter, r *http.Request) (store.CatalogProduct, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.CatalogProduct{}, false
	}
	p, err := s.Store.CatalogProductByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return store.CatalogProduct{}, false
	}
	if !orderable(p, p.Prices) {
		s.notFound(w, r)
		return store.CatalogProduct{}, false
	}
	return p, true
}

// gatewayNames are the configured gateways, the default first, then by name.
func (s *server) gatewayNames() []string {
	names := make([]string, 0, len(s.Gateways))
	for name := range s.Gateways {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == s.Settings.DefaultGateway) != (names[j] == s.Settings.DefaultGateway) {
			return names[i] == s.Settings.DefaultGateway
		}
		return names[i] < names[j]
	})
	return names
}

var gatewayLabels = map[string]string{"sandbox": "Test card (sandbox)", "stripe": "Card (Stripe)", "paypal": "PayPal"}

func gatewayOptions(names []string) []web.Option {
	out := make([]web.Option, 0, len(names))
	for _, n := range names {
		label := gatewayLabels[n]
		if label == "" {
			label = n
		}
		out = append(out, web.Option{Value: n, Label: label})
	}
	return out
}

func priceValue(p store.Price) string { return p.Cycle + "/" + p.Currency }

// configurePage is the configure form of a product with the given form values.
func (s *server) configurePage(r *http.Request, p store.CatalogProduct, form map[string]string) web.Page {
	cur := s.shopCurrency(r, currencies(p.Prices))
	v := web.OrderConfigure{Product: orderProductView(p, p.Prices, cur), Gateways: gatewayOptions(s.gatewayNames())}
	for _, pr := range p.Prices {
		label := fmt.Sprintf("%s · %s", cycleLabel(billing.Cycle(pr.Cycle)), priceMoney(pr.Amount, pr.Currency))
		if pr.SetupFee > 0 {
			label += fmt.Sprintf(" (+ %s setup)", priceMoney(pr.SetupFee, pr.Currency))
		}
		v.Prices = append(v.Prices, web.Option{Value: priceValue(pr), Label: label})
	}
	for _, f := range p.OrderFields {
		in := web.OrderFieldInput{Name: "field_" + f.Key, Label: f.Label, Required: f.Required, Select: f.Kind == "select"}
		for _, o := range f.Options {
			in.Options = append(in.Options, web.Option{Value: o, Label: o})
		}
		v.Fields = append(v.Fields, in)
	}
	page := s.page(r, "Order "+p.Name, v)
	page.Form["price"] = priceValue(p.Prices[0])
	if i := slices.IndexFunc(p.Prices, func(pr store.Price) bool { return pr.Currency == cur }); i >= 0 {
		page.Form["price"] = priceValue(p.Prices[i]) // the shortest cycle in the customer's currency
	}
	if len(v.Gateways) > 0 {
		page.Form["gateway"] = v.Gateways[0].Value
	}
	for k, val := range form {
		page.Form[k] = val
	}
	return page
}

func (s *server) orderForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.orderableProduct(w, r)
	if !ok {
		return
	}
	form := map[string]string{}
	if want := r.URL.Query().Get("price"); slices.ContainsFunc(p.Prices, func(pr store.Price) bool { return priceValue(pr) == want }) {
		form["price"] = want
	}
	s.render(w, r, http.StatusOK, "order_configure", s.configurePage(r, p, form))
}

// orderChoice is what the customer chose on the configure form.
type orderChoice struct {
	Cycle    billing.Cycle
	Currency string
	Fields   map[string]string
	Coupon   string
	Gateway  string
}

// readChoice reads the posted choices against the product. It returns the values to show
// again and a message per field that is wrong.
func (s *server) readChoice(r *http.Request, p store.CatalogProduct) (orderChoice, map[string]string, map[string]string) {
	form, errs := map[string]string{}, map[string]string{}
	var c orderChoice
	form["price"] = r.PostFormValue("price")
	i := slices.IndexFunc(p.Prices, func(pr store.Price) bool { return priceValue(pr) == form["price"] })
	if i < 0 {
		errs["price"] = "Choose a billing cycle from the list."
	} else {
		c.Cycle, c.Currency = billing.Cycle(p.Prices[i].Cycle), p.Prices[i].Currency
	}
	c.Fields = map[string]string{}
	for _, f := range p.OrderFields {
		name := "field_" + f.Key
		v := strings.TrimSpace(r.PostFormValue(name))
		form[name] = v
		switch {
		case v == "" && f.Required:
			errs[name] = f.Label + " is required."
		case v == "":
		case len(v) > maxFieldLength:
			errs[name] = "Use up to 200 characters."
		case f.Kind == "select" && !slices.Contains(f.Options, v):
			errs[name] = "Choose one of the listed options."
		case f.Key == "hostname" && !validHostname(v):
			errs[name] = "Enter a full hostname such as server1.example.com."
		default:
			c.Fields[f.Key] = v
		}
	}
	c.Coupon = strings.TrimSpace(r.PostFormValue("coupon"))
	form["coupon"] = c.Coupon
	if len(c.Coupon) > 40 {
		errs["coupon"] = fmt.Sprintf("There is no coupon with the code %q.", c.Coupon)
	}
	c.Gateway = r.PostFormValue("gateway")
	form["gateway"] = c.Gateway
	if _, ok := s.Gateways[c.Gateway]; !ok {
		errs["gateway"] = "Choose how you want to pay."
	}
	return c, form, errs
}

// priceOrder prices the choice. A choice that cannot be priced (a coupon that does not apply,
// a price that is gone) gives the field and the message to show, and a nil error.
func (s *server) priceOrder(ctx context.Context, customerID int64, p store.CatalogProduct, c orderChoice) (pricing.Quote, string, string, error) {
	q, _, err := s.Pricer.Order(ctx, pricing.OrderRequest{CustomerID: customerID, ProductID: p.ID, Cycle: c.Cycle,
		Currency: c.Currency, CouponCode: c.Coupon, Now: time.Now()})
	code := store.NormalizeCouponCode(c.Coupon)
	switch {
	case err == nil:
		return q, "", "", nil
	case c.Coupon != "" && errors.Is(err, store.ErrNotFound):
		return q, "coupon", fmt.Sprintf("There is no coupon with the code %s.", code), nil
	case errors.Is(err, billing.ErrCouponExpired):
		return q, "coupon", fmt.Sprintf("The coupon %s has expired.", code), nil
	case errors.Is(err, billing.ErrCouponExhausted):
		return q, "coupon", fmt.Sprintf("The coupon %s has been used up.", code), nil
	case errors.Is(err, billing.ErrCouponAlreadyUsed):
		return q, "coupon", fmt.Sprintf("You have already used the coupon %s.", code), nil
	case errors.Is(err, billing.ErrCouponNotApplicable):
		return q, "coupon", fmt.Sprintf("The coupon %s does not apply to %s.", code, p.Name), nil
	case errors.Is(err, billing.ErrCouponCurrency):
		return q, "coupon", fmt.Sprintf("The coupon %s cannot be used with prices in %s.", code, c.Currency), nil
	case errors.Is(err, billing.ErrInvalidCoupon), errors.Is(err, billing.ErrCouponNotStackable):
		return q, "coupon", fmt.Sprintf("The coupon %s cannot be used on this order.", code), nil
	case errors.Is(err, pricing.ErrNoPrice):
		return q, "price", fmt.Sprintf("%s is not sold with that billing cycle and currency.", p.Name), nil
	case errors.Is(err, pricing.ErrNotOrderable):
		return q, "price", fmt.Sprintf("%s can no longer be ordered.", p.Name), nil
	}
	return q, "", "", err
}

// checkCapacity says where the product's service would go and, when it cannot be ordered right
// now (stock limit reached, no panel with room, the panel says no), why, in words for the
// customer. Products without a panel mapping have no service: panel server 0.
func (s *server) checkCapacity(ctx context.Context, p store.CatalogProduct) (int64, string, error) {
	full, err := s.soldOut(ctx, p)
	if err != nil {
		return 0, "", err
	}
	if full {
		return 0, p.Name + " is sold out right now. Please check back later or choose another product.", nil
	}
	if !p.PanelType.Valid || p.PanelType.String == "" {
		return 0, "", nil
	}
	ps, err := s.Store.PickPanelServer(ctx, p.PanelType.String)
	if errors.Is(err, store.ErrNotFound) {
		return 0, p.Name + " is sold out right now: every server is full. Please check back later.", nil
	}
	if err != nil {
		return 0, "", err
	}
	if s.Control == nil {
		return ps.ID, "", nil
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := s.Control.CheckCapacity(cctx, ps.ID, p.ID)
	if err != nil {
		s.Log.Warn("capacity check", "product", p.ID, "panel", ps.ID, "err", err)
		return 0, "We could not check whether " + p.Name + " is available right now. Please try again in a few minutes.", nil
	}
	if !c.Available {
		msg := p.Name + " is not available right now."
		if c.Reason != "" {
			msg = p.Name + " is not available right now: " + c.Reason
		}
		return 0, msg, nil
	}
	return ps.ID, "", nil
}

// refuseChoice shows the configure form again with the customer's values and what is wrong.
func (s *server) refuseChoice(w http.ResponseWriter, r *http.Request, p store.CatalogProduct, status int, form, errs map[string]string, msg string) {
	page := s.configurePage(r, p, form)
	for k, v := range errs {
		page.Errors[k] = v
	}
	page.Error = msg
	s.render(w, r, status, "order_configure", page)
}

// orderReview prices the customer's choices and shows the summary with the place form.
func (s *server) orderReview(w http.ResponseWriter, r *http.Request) {
	p, ok := s.orderableProduct(w, r)
	if !ok {
		return
	}
	u := currentUser(r)
	c, form, errs := s.readChoice(r, p)
	if len(errs) > 0 {
		s.refuseChoice(w, r, p, http.StatusUnprocessableEntity, form, errs, "Please correct the highlighted fields.")
		return
	}
	q, field, msg, err := s.priceOrder(r.Context(), u.ID, p, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if msg != "" {
		s.refuseChoice(w, r, p, http.StatusUnprocessableEntity, form, map[string]string{field: msg}, msg)
		return
	}
	_, problem, err := s.checkCapacity(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if problem != "" {
		s.refuseChoice(w, r, p, http.StatusConflict, form, nil, problem)
		return
	}
	s.render(w, r, http.StatusOK, "order_review", s.reviewPage(r, p, c, form, q, s.newOrderToken(u.ID, p.ID)))
}

func (s *server) reviewPage(r *http.Request, p store.CatalogProduct, c orderChoice, form map[string]string, q pricing.Quote, token string) web.Page {
	lines, totals := quoteLines(q.Invoice)
	v := web.OrderReview{
		Product: orderProductView(p, p.Prices, c.Currency), CycleLabel: cycleLabel(c.Cycle), Currency: c.Currency,
		Coupon: store.NormalizeCouponCode(c.Coupon), Gateway: gatewayOptions([]string{c.Gateway})[0].Label,
		Lines: lines, Totals: totals, Total: money(q.Total()), Free: !q.Total().IsPositive(), Token: token,
	}
	for _, f := range p.OrderFields {
		if a := c.Fields[f.Key]; a != "" {
			v.Answers = append(v.Answers, web.Option{Label: f.Label, Value: a})
		}
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Carry = append(v.Carry, web.Option{Label: k, Value: form[k]})
	}
	return s.page(r, "Review your order", v)
}

// quoteLines are the lines table and the figures under it for a priced (unsaved) invoice.
func quoteLines(inv billing.Invoice) ([]web.InvoiceLineRow, []web.InvoiceTotalRow) {
	var lines []web.InvoiceLineRow
	for _, l := range inv.Lines {
		lines = append(lines, web.InvoiceLineRow{Kind: string(l.Kind), Description: l.Description, Amount: money(l.Amount)})
	}
	var totals []web.InvoiceTotalRow
	add := func(label string, f func() (billing.Money, error), always, strong bool) {
		m, err := f()
		if err == nil && (always || !m.IsZero()) {
			totals = append(totals, web.InvoiceTotalRow{Label: label, Amount: money(m), Strong: strong})
		}
	}
	add("Subtotal", inv.Subtotal, true, false)
	add("Discount", inv.DiscountTotal, false, false)
	add("Tax", inv.TaxTotal, true, false)
	add("Credit applied", inv.CreditTotal, false, false)
	add("Total", inv.Total, true, true)
	return lines, totals
}

// newOrderToken is the one-time token of a review page: a random nonce with an HMAC binding it
// to the customer and the product, so it cannot be forged or reused for someone else's order.
// Placing the order uses it as the idempotency key, so submitting the page twice is one order.
func (s *server) newOrderToken(customerID, productID int64) string {
	nonce := rand.Text()
	return nonce + "." + s.orderTokenMAC(customerID, productID, nonce)
}

func (s *server) orderTokenMAC(customerID, productID int64, nonce string) string {
	m := hmac.New(sha256.New, s.Settings.AppKey)
	fmt.Fprintf(m, "order:%d:%d:%s", customerID, productID, nonce)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *server) validOrderToken(token string, customerID, productID int64) bool {
	nonce, mac, ok := strings.Cut(token, ".")
	return ok && nonce != "" && hmac.Equal([]byte(mac), []byte(s.orderTokenMAC(customerID, productID, nonce)))
}

// orderPlace re-prices the choices, places the order (once per token), starts the subscription
// workflow and sends the customer to pay.
func (s *server) orderPlace(w http.ResponseWriter, r *http.Request) {
	p, ok := s.orderableProduct(w, r)
	if !ok {
		return
	}
	u := currentUser(r)
	token := r.PostFormValue("token")
	if !s.validOrderToken(token, u.ID, p.ID) {
		s.renderError(w, r, http.StatusBadRequest, "This order form has expired", "Please go back to the product, review your order again and place it from there.")
		return
	}
	order, err := s.Store.CustomerOrderByKey(r.Context(), u.ID, token)
	if errors.Is(err, store.ErrNotFound) {
		var placed bool
		order, placed = s.placeNewOrder(w, r, p, token)
		if !placed {
			return
		}
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.startSubscription(r.Context(), order); err != nil {
		// The order is saved and can be paid: the subscriptions reconciler (a schedule on the
		// worker, workflows.ReconcileScheduleID) starts the workflow within minutes, which then
		// finds the payment. Failing here would only make the customer order again.
		s.Log.Error("start subscription workflow; the reconciler will start it", "subscription", order.SubscriptionID, "err", err)
	}
	inv, err := s.Store.CustomerInvoice(r.Context(), u.ID, order.InvoiceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendToPayment(w, r, inv, order.Gateway)
}

// placeNewOrder prices and saves an order not placed before; on a refusal it has answered
// already and reports false.
func (s *server) placeNewOrder(w http.ResponseWriter, r *http.Request, p store.CatalogProduct, token string) (store.Order, bool) {
	u := currentUser(r)
	c, form, errs := s.readChoice(r, p)
	if len(errs) > 0 {
		s.refuseChoice(w, r, p, http.StatusUnprocessableEntity, form, errs, "Please correct the highlighted fields.")
		return store.Order{}, false
	}
	q, field, msg, err := s.priceOrder(r.Context(), u.ID, p, c)
	if err != nil {
		s.fail(w, r, err)
		return store.Order{}, false
	}
	if msg != "" {
		s.refuseChoice(w, r, p, http.StatusUnprocessableEntity, form, map[string]string{field: msg}, msg)
		return store.Order{}, false
	}
	panelServerID, problem, err := s.checkCapacity(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return store.Order{}, false
	}
	if problem != "" {
		s.refuseChoice(w, r, p, http.StatusConflict, form, nil, problem)
		return store.Order{}, false
	}
	creator := "customer:" + strconv.FormatInt(u.ID, 10)
	if id := middleware.GetReqID(r.Context()); id != "" {
		creator += " request:" + id
	}
	order, err := s.Store.PlaceOrder(r.Context(), store.NewOrder{
		CustomerID: u.ID, IdempotencyKey: token, ProductID: p.ID, Cycle: c.Cycle, Price: q.Price, Fields: c.Fields,
		CouponCode: store.NormalizeCouponCode(c.Coupon), Gateway: c.Gateway, PanelServerID: panelServerID,
		Hostname: c.Fields["hostname"], CreatedBy: creator,
		Invoice: store.NewInvoice{Currency: c.Currency, Lines: q.Invoice.Lines, ReverseCharge: q.Invoice.ReverseCharge,
			Notes: q.Invoice.Notes, DueAt: time.Now(), CreditUsed: q.CreditUsed, Redeems: q.Redeems},
	})
	switch {
	case errors.Is(err, store.ErrOutOfStock):
		s.refuseChoice(w, r, p, http.StatusConflict, form, nil, p.Name+" sold out while you were ordering. Please choose another product.")
		return store.Order{}, false
	case errors.Is(err, store.ErrCouponUnavailable):
		// Checked again under the coupon's lock when the order is saved: another order took its
		// last use, or this customer already used a once-per-customer coupon.
		s.refuseChoice(w, r, p, http.StatusConflict, form, map[string]string{"coupon": "This coupon cannot be used any more."}, "The coupon "+
			store.NormalizeCouponCode(c.Coupon)+" has no uses left for you. Remove it and review your order again.")
		return store.Order{}, false
	case errors.Is(err, billing.ErrInsufficientCredit), errors.Is(err, billing.ErrCouponExhausted):
		// Credit or the coupon's last use went to another order in the meantime: price again.
		s.refuseChoice(w, r, p, http.StatusConflict, form, nil, "Your account credit or coupon changed while you were ordering. Please review your order again.")
		return store.Order{}, false
	case err != nil:
		s.fail(w, r, err)
		return store.Order{}, false
	}
	if !order.Existing {
		details, _ := json.Marshal(map[string]any{"order": order.ID, "product": p.ID, "invoice": order.InvoiceID, "total": money(q.Total())})
		s.audit(r, "order.placed", "subscription:"+strconv.FormatInt(order.SubscriptionID, 10), details)
	}
	return order, true
}

// startSubscription starts subscription:<id> for an order; a run that already exists (a
// repeated submission) is left alone.
func (s *server) startSubscription(ctx context.Context, o store.Order) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Workflows.ExecuteWorkflow(ctx, workflows.SubscriptionStartOptions(o.SubscriptionID, o.CustomerID, s.Settings.TaskQueue),
		workflows.Subscription, workflows.SubscriptionInput{
			SubscriptionID: o.SubscriptionID, CustomerID: o.CustomerID, FirstInvoiceID: o.InvoiceID, Timings: s.Settings.Billing,
		})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start %s: %w", workflows.SubscriptionID(o.SubscriptionID), err)
	}
	return nil
}

// payable reports whether the customer can pay the invoice now.
func payable(inv store.Invoice) bool {
	return inv.Status == billing.StatusUnpaid && inv.Totals.Due.IsPositive()
}

// sendToPayment redirects to the invoice when nothing is due, else to the gateway's hosted page.
func (s *server) sendToPayment(w http.ResponseWriter, r *http.Request, inv store.Invoice, gateway string) {
	invoicePage := fmt.Sprintf("/account/invoices/%d", inv.ID)
	if !payable(inv) {
		http.Redirect(w, r, invoicePage, http.StatusSeeOther)
		return
	}
	link, err := s.startCheckout(r.Context(), currentUser(r), inv, gateway)
	if errors.Is(err, gateways.ErrUnsupportedAmount) {
		s.renderError(w, r, http.StatusUnprocessableEntity, "Choose another way to pay",
			fmt.Sprintf("Your invoice %s is saved, but %s. Pay it from your invoices with another method.", inv.Number, err))
		return
	}
	if err != nil {
		s.Log.Error("start checkout", "invoice", inv.ID, "gateway", gateway, "err", err)
		s.renderError(w, r, http.StatusBadGateway, "The payment page is not available",
			fmt.Sprintf("Your invoice %s is saved. Please try paying it from your invoices in a few minutes.", inv.Number))
		return
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
}

// startCheckout opens the gateway's hosted page for the amount due. The key is fixed per
// invoice, so paying again (or a double click) returns the same page instead of a second one.
func (s *server) startCheckout(ctx context.Context, u *store.User, inv store.Invoice, gateway string) (string, error) {
	g, err := s.Gateways.Get(gateway)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ref, err := g.EnsureCustomer(ctx, gateways.Customer{ID: u.ID, Email: u.Email, Name: u.Name})
	if err != nil {
		return "", fmt.Errorf("gateway customer for %d: %w", u.ID, err)
	}
	if err := gateways.CheckAmount(g, inv.Totals.Due); err != nil {
		return "", err
	}
	page := fmt.Sprintf("%s/account/invoices/%d", s.Settings.BaseURL, inv.ID)
	co, err := g.StartCheckout(ctx, gateways.CheckoutRequest{
		InvoiceID: inv.ID, CustomerRef: ref, Amount: inv.Totals.Due, Description: "Invoice " + inv.Number,
		SuccessURL: page + "?checkout=done&from=" + url.QueryEscape(g.Name()), CancelURL: page, IdempotencyKey: fmt.Sprintf("checkout:invoice:%d", inv.ID),
	})
	if err != nil {
		return "", fmt.Errorf("checkout of invoice %d: %w", inv.ID, err)
	}
	// Remembered so the page is closed at the gateway once the invoice is paid another way.
	if err := s.Store.AddCheckout(ctx, inv.ID, g.Name(), co.Ref); err != nil {
		return "", err
	}
	return co.URL, nil
}

// invoicePayForm offers the gateways to pay an unpaid invoice with.
func (s *server) invoicePayForm(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.customerInvoice(w, r)
	if !ok {
		return
	}
	if !payable(inv) {
		http.Redirect(w, r, fmt.Sprintf("/account/invoices/%d", inv.ID), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "account_invoice_pay", s.page(r, "Pay invoice "+inv.Number, s.invoicePayView(r, inv)))
}

func (s *server) invoicePayView(r *http.Request, inv store.Invoice) web.InvoicePay {
	v := web.InvoicePay{Invoice: invoiceRow(inv, nil), Gateways: gatewayOptions(s.gatewayNames())}
	if len(v.Gateways) > 0 {
		v.Gateway = v.Gateways[0].Value
	}
	if inv.SubscriptionID.Valid { // the gateway the order chose
		if sub, err := s.Store.CustomerSubscription(r.Context(), inv.CustomerID, inv.SubscriptionID.Int64); err == nil {
			if _, ok := s.Gateways[sub.Gateway]; ok {
				v.Gateway = sub.Gateway
			}
		}
	}
	return v
}

// invoicePay sends the customer to the chosen gateway's hosted page for an unpaid invoice.
func (s *server) invoicePay(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.customerInvoice(w, r)
	if !ok {
		return
	}
	gateway := r.PostFormValue("gateway")
	if gateway == "" {
		gateway = s.invoicePayView(r, inv).Gateway
	}
	if _, known := s.Gateways[gateway]; !known {
		p := s.page(r, "Pay invoice "+inv.Number, s.invoicePayView(r, inv))
		p.Errors["gateway"] = "Choose how you want to pay."
		s.render(w, r, http.StatusUnprocessableEntity, "account_invoice_pay", p)
		return
	}
	s.sendToPayment(w, r, inv, gateway)
}
