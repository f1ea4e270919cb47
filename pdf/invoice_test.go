package pdf

import (
	"bytes"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
)

func eur(cents int64) billing.Money { return billing.Money{Amount: cents, Currency: "EUR"} }

func seller(t *testing.T) Party {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := range 120 {
		for y := range 40 {
			img.Set(x, y, color.RGBA{R: 30, G: 90, B: uint8(2 * x), A: 255})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		t.Fatal(err)
	}
	return Party{Name: "ezScale Hosting B.V.", Address: []string{"Keizersgracht 1", "1015 CJ Amsterdam"}, Country: "Netherlands",
		TaxID: "NL123456789B01", Logo: logo.Bytes()}
}

func buyer() Party {
	return Party{Name: "Jürgen Müller", Company: "Müller Server GmbH", Address: []string{"Hauptstraße 5", "10115 Berlin"},
		Country: "Germany", TaxID: "DE123456789"}
}

// paidInvoice is a stored invoice with every kind of figure: a discount, two tax levels and credit.
func paidInvoice() store.Invoice {
	lines := []billing.Line{
		{Kind: billing.LineProduct, Description: "VPS Large (2024-06-01 – 2024-07-01)", Amount: eur(4999)},
		{Kind: billing.LineSetup, Description: "Setup fee VPS Large", Amount: eur(1000)},
		{Kind: billing.LineProration, Description: "Upgrade from VPS Small, 12 days", Amount: eur(-312)},
		{Kind: billing.LineDiscount, Description: "Coupon SUMMER (10%): VPS Large", Amount: eur(-500)},
		{Kind: billing.LineTax, Description: "VAT 21%", Amount: eur(1089)},
		{Kind: billing.LineTax, Description: "Levy 0.5%", Amount: eur(26)},
		{Kind: billing.LineCredit, Description: "Account credit applied", Amount: eur(-700)},
	}
	return store.Invoice{
		Number: "INV-1042", Currency: "EUR", Status: billing.StatusPaid,
		IssuedAt: sql.NullTime{Time: time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC), Valid: true},
		DueAt:    time.Date(2024, 6, 15, 0, 0, 0, 0, time.UTC),
		Lines:    lines,
		Totals: store.InvoiceTotals{Subtotal: eur(5687), Discount: eur(-500), Tax: eur(1115), Credit: eur(-700),
			Total: eur(5602), Paid: eur(5602), Refunded: eur(0), Due: eur(0)},
	}
}

// pdfTool returns the path of a poppler tool, skipping the test when it is missing unless CI is set.
func pdfTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (Debian poppler-utils); CI must have it", name)
		}
		t.Skipf("%s not installed (Debian poppler-utils)", name)
	}
	return path
}

func render(t *testing.T, d InvoiceDoc) string {
	t.Helper()
	out, err := Invoice(d)
	if err != nil {
		t.Fatalf("render invoice %s: %v", d.Number, err)
	}
	if !bytes.HasPrefix(out, []byte("%PDF")) || len(out) < 5000 {
		t.Fatalf("invoice %s: %d bytes starting %q; want a PDF of at least 5000 bytes", d.Number, len(out), out[:min(8, len(out))])
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// text extracts the text of pages first..last (0 for all) with pdftotext.
func text(t *testing.T, path string, first, last int) string {
	t.Helper()
	args := []string{"-layout"}
	if first > 0 {
		args = append(args, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last))
	}
	out, err := exec.Command(pdfTool(t, "pdftotext"), append(args, path, "-")...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext %s: %v\n%s", path, err, out)
	}
	return string(out)
}

func pages(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command(pdfTool(t, "pdfinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v\n%s", path, err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pdfinfo %s: no page count in\n%s", path, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestInvoicePrintsPartiesLinesTotalsAndStamp(t *testing.T) {
	inv := paidInvoice()
	got := text(t, render(t, FromStore(inv, seller(t), buyer())), 0, 0)
	want := []string{
		"Invoice INV-1042", "ezScale Hosting B.V.", "NL123456789B01", "Jürgen Müller", "Müller Server GmbH", "Germany", "DE123456789",
		"2024-06-01", "2024-06-15", "PAID",
		"Subtotal", "EUR 56.87", "Discount", "EUR -5.00", "VAT 21%", "EUR 10.89", "Levy 0.5%", "EUR 0.26",
		"Credit applied", "EUR -7.00", "Total", "EUR 56.02", "Amount paid", "Amount due", "EUR 0.00",
	}
	for _, l := range inv.Lines {
		if l.Kind != billing.LineTax && l.Kind != billing.LineCredit {
			want = append(want, l.Description, l.Amount.Decimal())
		}
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("invoice text lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "Reverse charge") {
		t.Errorf("invoice without reverse charge prints the reverse-charge note:\n%s", got)
	}
}

func TestInvoicePrintsReverseChargeNoteOnceWhenSet(t *testing.T) {
	inv := paidInvoice()
	inv.Status = billing.StatusUnpaid
	inv.ReverseCharge, inv.Notes = true, store.JSONList{billing.ReverseChargeNote, "Thank you for your business."}
	got := text(t, render(t, FromStore(inv, seller(t), buyer())), 0, 0)
	if n := strings.Count(got, "Reverse charge"); n != 1 {
		t.Errorf("reverse-charge note printed %d times; want once:\n%s", n, got)
	}
	for _, w := range []string{"UNPAID", "Thank you for your business."} {
		if !strings.Contains(got, w) {
			t.Errorf("invoice text lacks %q:\n%s", w, got)
		}
	}
}

func TestInvoiceStampNamesTheStatus(t *testing.T) {
	for status, want := range map[billing.Status]string{
		billing.StatusPaid: "PAID", billing.StatusUnpaid: "UNPAID", billing.StatusRefunded: "REFUNDED", billing.StatusCancelled: "CANCELLED",
	} {
		d := FromStore(paidInvoice(), Party{Name: "Seller"}, Party{Name: "Buyer"})
		d.Status = status
		got := text(t, render(t, d), 0, 0)
		if !regexp.MustCompile(`\b` + want + `\b`).MatchString(got) {
			t.Errorf("%s invoice lacks stamp %q:\n%s", status, want, got)
		}
	}
}

func TestLongInvoiceContinuesOnPagesWithTheHeader(t *testing.T) {
	d := FromStore(paidInvoice(), seller(t), buyer())
	d.Lines = nil
	for i := 1; i <= 120; i++ {
		d.Lines = append(d.Lines, DocLine{Description: fmt.Sprintf("Bandwidth overage server %03d", i), Kind: billing.LineProduct, Amount: eur(int64(i * 101))})
	}
	path := render(t, d)
	n := pages(t, path)
	if n < 2 {
		t.Fatalf("120-line invoice has %d page(s); want more than one", n)
	}
	all := text(t, path, 0, 0)
	for _, l := range d.Lines {
		if !strings.Contains(all, l.Description) {
			t.Errorf("120-line invoice lacks line %q", l.Description)
		}
	}
	for p := 1; p <= n; p++ {
		page := text(t, path, p, p)
		for _, w := range []string{"Invoice INV-1042", "ezScale Hosting B.V.", fmt.Sprintf("Page %d", p)} {
			if !strings.Contains(page, w) {
				t.Errorf("page %d of %d lacks header %q:\n%s", p, n, w, page)
			}
		}
	}
	if last := text(t, path, n, n); !strings.Contains(last, "Amount due") {
		t.Errorf("last page %d lacks the totals:\n%s", n, last)
	}
}

func TestInvoiceRejectsALogoThatIsNotPNG(t *testing.T) {
	d := FromStore(paidInvoice(), Party{Name: "Seller", Logo: []byte("GIF89a")}, Party{Name: "Buyer"})
	if _, err := Invoice(d); err == nil {
		t.Fatal("invoice with a non-PNG logo rendered; want an error")
	}
}
