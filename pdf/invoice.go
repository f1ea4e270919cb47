// Package pdf renders billing documents as PDF files.
package pdf

import (
	"bytes"
	"compress/zlib"
	"embed"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/signintech/gopdf"

	"github.com/ezscale/billing/billing"
)

// DejaVu fonts (see fonts/LICENSE-DejaVu.txt): gopdf embeds TrueType only, and DejaVu covers
// the accents and scripts customer names and addresses use.
//
//go:embed fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf fonts/DejaVuSansMono.ttf
var fonts embed.FS

// Party is the seller or the buyer on an invoice.
type Party struct {
	Name    string
	Company string   // buyer: the company billed, if any
	Address []string // one printed line each
	Country string
	TaxID   string // seller: tax or VAT registration; buyer: VAT id
	Logo    []byte // seller: optional PNG printed at the top of every page
}

// DocLine is one line of the invoice's lines table.
type DocLine struct {
	Description string
	Kind        billing.LineKind
	Amount      billing.Money
}

// DocTax is one tax level in the totals, e.g. Label "VAT 21%".
type DocTax struct {
	Label  string // the tax's name and rate
	Amount billing.Money
}

// InvoiceDoc is everything printed on an invoice. Figures are passed in, not recomputed, so
// the PDF shows exactly what the ledger holds.
type InvoiceDoc struct {
	Number        string
	Status        billing.Status // printed as a stamp: PAID, UNPAID, REFUNDED, CANCELLED, ...
	IssuedAt      time.Time      // zero for a draft
	DueAt         time.Time
	Seller        Party
	Buyer         Party
	Currency      string
	Lines         []DocLine // the charges, discounts and prorations; taxes and credit go in the totals
	Subtotal      billing.Money
	Discount      billing.Money // zero or negative; printed when not zero
	Taxes         []DocTax
	Credit        billing.Money // credit applied, zero or negative; printed when not zero
	Total         billing.Money
	Paid          billing.Money
	Refunded      billing.Money // printed when not zero
	Due           billing.Money
	ReverseCharge bool
	Notes         []string
}

// reverseChargeText explains billing.ReverseChargeNote to the buyer.
const reverseChargeText = billing.ReverseChargeNote + ": VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)."

// Page geometry in points (A4).
const (
	pageW, pageH = 595.0, 842.0
	margin       = 45.0
	right        = pageW - margin
	bottom       = pageH - margin
	kindX        = 385.0 // lines table: kind column
	descW        = kindX - margin - 10
	lineH        = 12.0 // one line of 9 pt text
)

// Invoice renders d as a PDF. Long invoices continue on further pages, each starting with
// the seller, invoice number and the table's column headings.
func Invoice(d InvoiceDoc) ([]byte, error) {
	return renderDocument(d.document())
}

// document is what the renderer prints: invoices and credit notes share the layout (header,
// parties and dates, lines table, totals, notes) and differ in title, dates and totals.
type document struct {
	title    string // "Invoice", "Credit note"
	number   string
	issuedAt time.Time
	meta     [][2]string // label and value, printed right of the parties
	status   billing.Status
	seller   Party
	buyer    Party
	currency string
	intro    string // printed above the lines table, e.g. "Credits invoice INV-1001"
	lines    []DocLine
	totals   []totalRow
	reverse  bool
	notes    []string
}

type totalRow struct {
	label  string
	amount billing.Money
	strong bool
	rule   bool // a line above it: the total
}

func (d InvoiceDoc) document() document {
	issued := "not issued"
	if !d.IssuedAt.IsZero() {
		issued = date(d.IssuedAt)
	}
	rows := []totalRow{{label: "Subtotal", amount: d.Subtotal}}
	if !d.Discount.IsZero() {
		rows = append(rows, totalRow{label: "Discount", amount: d.Discount})
	}
	for _, t := range d.Taxes {
		rows = append(rows, totalRow{label: t.Label, amount: t.Amount})
	}
	if !d.Credit.IsZero() {
		rows = append(rows, totalRow{label: "Credit applied", amount: d.Credit})
	}
	rows = append(rows, totalRow{label: "Total", amount: d.Total, strong: true, rule: true}, totalRow{label: "Amount paid", amount: d.Paid})
	if !d.Refunded.IsZero() {
		rows = append(rows, totalRow{label: "Refunded", amount: d.Refunded})
	}
	rows = append(rows, totalRow{label: "Amount due", amount: d.Due, strong: true})
	return document{
		title: "Invoice", number: d.Number, issuedAt: d.IssuedAt, status: d.Status, seller: d.Seller, buyer: d.Buyer,
		currency: d.Currency, lines: d.Lines, totals: rows, reverse: d.ReverseCharge, notes: d.Notes,
		meta: [][2]string{{"Invoice number", d.Number}, {"Issue date", issued}, {"Due date", date(d.DueAt)}},
	}
}

// renderDocument draws a document and returns the PDF.
func renderDocument(d document) ([]byte, error) {
	what := strings.ToLower(d.title) + " " + d.number
	r, err := newRenderer(d)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", what, err)
	}
	r.newPage()
	r.parties()
	r.intro()
	r.table()
	r.totals()
	r.notes()
	if r.err != nil {
		return nil, fmt.Errorf("render %s: %w", what, r.err)
	}
	out, err := r.pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", what, err)
	}
	return out, nil
}

// renderer draws one document top to bottom; the first drawing error is kept in err and makes
// the rest no-ops, so the layout code reads as a sequence of steps.
type renderer struct {
	pdf          gopdf.GoPdf
	doc          document
	page         int
	y            float64
	logo         gopdf.ImageHolder
	logoW, logoH float64
	err          error
}

func newRenderer(d document) (*renderer, error) {
	r := &renderer{doc: d}
	r.pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	r.pdf.SetCompressLevel(zlib.BestSpeed) // mailed with every invoice: speed over a few kilobytes
	r.pdf.SetInfo(gopdf.PdfInfo{Title: d.title + " " + d.number, Author: d.seller.Name, CreationDate: d.issuedAt})
	for name, file := range map[string]string{"sans": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"} {
		data, err := fonts.ReadFile("fonts/" + file)
		if err != nil {
			return nil, err
		}
		if err := r.pdf.AddTTFFontData(name, data); err != nil {
			return nil, fmt.Errorf("load font %s: %w", file, err)
		}
	}
	if len(d.seller.Logo) > 0 {
		cfg, err := png.DecodeConfig(bytes.NewReader(d.seller.Logo))
		if err != nil {
			return nil, fmt.Errorf("seller logo: %w", err)
		}
		if r.logo, err = gopdf.ImageHolderByBytes(d.seller.Logo); err != nil {
			return nil, fmt.Errorf("seller logo: %w", err)
		}
		// Fit into 160×48 pt, keeping the aspect ratio.
		scale := min(160/float64(cfg.Width), 48/float64(cfg.Height))
		r.logoW, r.logoH = float64(cfg.Width)*scale, float64(cfg.Height)*scale
	}
	return r, nil
}

// newPage starts a page with the header every page carries: logo or seller name on the
// left, "<title> <number>" (e.g. "Invoice INV-1001") and the page number on the right.
func (r *renderer) newPage() {
	r.pdf.AddPage()
	r.page++
	y := margin
	if r.logo != nil {
		r.check(r.pdf.ImageByHolder(r.logo, margin, y, &gopdf.Rect{W: r.logoW, H: r.logoH}))
		r.text(margin, y+r.logoH+4, "bold", 11, r.doc.seller.Name)
	} else {
		r.text(margin, y, "bold", 16, r.doc.seller.Name)
	}
	r.textRight(right, y, "bold", 18, r.doc.title+" "+r.doc.number)
	r.color(110)
	r.textRight(right, y+24, "sans", 9, fmt.Sprintf("Page %d", r.page))
	r.color(0)
	headerH := 34.0
	if r.logo != nil {
		headerH = r.logoH + 20
	}
	r.y = y + max(headerH, 40)
	r.rule(r.y, 0.8)
	r.y += 12
}

// parties prints the seller and buyer blocks, the dates and the status stamp.
func (r *renderer) parties() {
	s, b := r.doc.seller, r.doc.buyer
	top := r.y
	seller := r.block(margin, top, "From", append(append([]string{s.Name}, s.Address...), s.Country), "Tax ID", s.TaxID)
	buyer := r.block(220, top, "Bill to", append(append([]string{b.Name, b.Company}, b.Address...), b.Country), "VAT ID", b.TaxID)

	x, y := 400.0, top
	for _, kv := range r.doc.meta {
		r.color(110)
		r.text(x, y, "sans", 8, kv[0])
		r.color(0)
		r.textRight(right, y, "sans", 9, kv[1])
		y += lineH + 2
	}
	y = r.stamp(y + 6)
	r.y = max(seller, buyer, y) + 16
}

// block prints a titled address block at x, skipping empty lines, and returns where it ends.
func (r *renderer) block(x, y float64, title string, lines []string, idLabel, id string) float64 {
	r.color(110)
	r.text(x, y, "sans", 8, strings.ToUpper(title))
	r.color(0)
	y += lineH + 2
	first := true
	for _, l := range lines {
		if l == "" {
			continue
		}
		font := "sans"
		if first {
			font, first = "bold", false
		}
		r.text(x, y, font, 9, l)
		y += lineH
	}
	if id != "" {
		r.text(x, y, "sans", 9, idLabel+": "+id)
		y += lineH
	}
	return y
}

// stamp prints the status in a coloured box right-aligned at y and returns where it ends.
func (r *renderer) stamp(y float64) float64 {
	label := strings.ToUpper(strings.ReplaceAll(string(r.doc.status), "_", " "))
	if label == "" {
		return y
	}
	red, green, blue := uint8(110), uint8(110), uint8(110)
	switch r.doc.status {
	case billing.StatusPaid:
		red, green, blue = 20, 130, 60
	case billing.StatusUnpaid:
		red, green, blue = 190, 30, 30
	}
	r.font("bold", 14)
	w := r.width(label) + 16
	r.pdf.SetStrokeColor(red, green, blue)
	r.pdf.SetLineWidth(1.5)
	r.pdf.RectFromUpperLeftWithStyle(right-w, y, w, 24, "D")
	r.pdf.SetTextColor(red, green, blue)
	r.text(right-w+8, y+5, "bold", 14, label)
	r.color(0)
	r.pdf.SetStrokeColor(0, 0, 0)
	return y + 24
}

// intro prints the document's one-line introduction above the lines table, if it has one.
func (r *renderer) intro() {
	if r.doc.intro == "" {
		return
	}
	r.text(margin, r.y, "bold", 10, r.doc.intro)
	r.y += lineH + 8
}

// table prints the lines, continuing on a new page (with the headings again) when full.
func (r *renderer) table() {
	r.tableHeading()
	for _, l := range r.doc.lines {
		r.font("sans", 9)
		desc, err := r.pdf.SplitTextWithWordWrap(l.Description, descW)
		if err != nil || len(desc) == 0 {
			desc = []string{l.Description} // empty text, or a word wider than the column
		}
		h := float64(len(desc))*lineH + 4
		if r.y+h > bottom {
			r.newPage()
			r.tableHeading()
		}
		for i, part := range desc {
			r.text(margin, r.y+2+float64(i)*lineH, "sans", 9, part)
		}
		r.color(90)
		r.text(kindX, r.y+3, "sans", 8, string(l.Kind)) // 8 pt: one point lower to share the 9 pt baseline
		r.color(0)
		r.textRight(right, r.y+2, "mono", 9, l.Amount.Decimal())
		r.y += h
		r.pdf.SetStrokeColor(225, 225, 225)
		r.rule(r.y, 0.5)
		r.pdf.SetStrokeColor(0, 0, 0)
	}
	r.y += 10
}

func (r *renderer) tableHeading() {
	r.pdf.SetFillColor(238, 238, 238)
	r.pdf.RectFromUpperLeftWithStyle(margin, r.y, right-margin, 18, "F")
	r.text(margin+4, r.y+4, "bold", 9, "Description")
	r.text(kindX, r.y+4, "bold", 9, "Kind")
	r.textRight(right-4, r.y+4, "bold", 9, "Amount ("+r.doc.currency+")")
	r.y += 20
}

// totals prints the figures under the table, right-aligned, on a new page if they do not fit.
func (r *renderer) totals() {
	rows := r.doc.totals
	if r.y+float64(len(rows))*16+8 > bottom {
		r.newPage()
	}
	labelX := 330.0
	for _, rw := range rows {
		if rw.rule {
			r.pdf.SetLineWidth(0.8)
			r.pdf.Line(labelX, r.y, right, r.y)
			r.y += 4
		}
		font, mono := "sans", "mono"
		if rw.strong {
			font = "bold"
		}
		r.text(labelX, r.y, font, 10, rw.label)
		r.textRight(right, r.y, mono, 10, rw.amount.String())
		r.y += 16
	}
	r.y += 10
}

// notes prints the reverse-charge statement and any other notes.
func (r *renderer) notes() {
	var notes []string
	if r.doc.reverse {
		notes = append(notes, reverseChargeText)
	}
	for _, n := range r.doc.notes {
		if n != billing.ReverseChargeNote { // billing adds it with ReverseCharge; printed above in full
			notes = append(notes, n)
		}
	}
	for _, n := range notes {
		r.font("sans", 9)
		parts, err := r.pdf.SplitTextWithWordWrap(n, right-margin)
		if err != nil || len(parts) == 0 {
			parts = []string{n}
		}
		if r.y+float64(len(parts))*lineH > bottom {
			r.newPage()
		}
		for _, p := range parts {
			r.text(margin, r.y, "sans", 9, p)
			r.y += lineH
		}
		r.y += 4
	}
}

func (r *renderer) font(name string, size float64) {
	if r.err == nil {
		r.err = r.pdf.SetFont(name, "", size)
	}
}

func (r *renderer) width(s string) float64 {
	if r.err != nil {
		return 0
	}
	w, err := r.pdf.MeasureTextWidth(s)
	r.check(err)
	return w
}

// text prints s with its top-left corner at x, y.
func (r *renderer) text(x, y float64, font string, size float64, s string) {
	r.font(font, size)
	if r.err != nil || s == "" {
		return
	}
	r.pdf.SetXY(x, y)
	r.check(r.pdf.Cell(nil, s))
}

// textRight prints s ending at x.
func (r *renderer) textRight(x, y float64, font string, size float64, s string) {
	r.font(font, size)
	r.text(x-r.width(s), y, font, size, s)
}

func (r *renderer) color(gray uint8) { r.pdf.SetTextColor(gray, gray, gray) }

func (r *renderer) rule(y, width float64) {
	r.pdf.SetLineWidth(width)
	r.pdf.Line(margin, y, right, y)
}

func (r *renderer) check(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

func date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02")
}
