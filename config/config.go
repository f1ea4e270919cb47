// Package config reads the platform's configuration from environment variables once at start
// and validates it, so a bad setting stops the process with a clear message instead of failing later.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
)

// Config is the whole runtime configuration. Zero values are never used: Load fills defaults.
type Config struct {
	// Env is "development" or "production". Development enables /dev/mail and relaxed cookies.
	Env string
	// HTTPAddr is where the web server listens, e.g. ":8080".
	HTTPAddr string
	// BaseURL is the public URL used in mailed links, e.g. "http://localhost:8080".
	BaseURL string
	// DatabaseURL is the PostgreSQL DSN. Empty means "find or start one" in dev mode.
	DatabaseURL string
	// TemporalAddress is host:port of the Temporal frontend. Empty means "start the dev server" in dev mode.
	TemporalAddress string
	// TemporalNamespace is the Temporal namespace holding our workflows.
	TemporalNamespace string
	// TemporalUIURL is the Temporal web UI root, used for links from the admin panel.
	TemporalUIURL string
	// TaskQueue is the Temporal task queue our worker polls.
	TaskQueue string
	// SMTPURL is where mail goes, e.g. "smtp://user:pass@host:587?tls=starttls". Empty in dev mode
	// means the built-in sink.
	SMTPURL string
	// MailFrom is the sender address of every outgoing message.
	MailFrom string
	// AppKey is the 32-byte secret that signs CSRF tokens and encrypts secrets at rest.
	AppKey []byte
	// SecureCookies marks cookies Secure; on by default when BaseURL is https.
	SecureCookies bool
	// MetricsToken is the bearer token /metrics requires; empty means /metrics answers only
	// requests made directly from the host itself (loopback, not through a proxy).
	MetricsToken string
	// LogLevel is the slog level: debug, info, warn or error.
	LogLevel string
	// DataDir holds dev-mode state: the Temporal SQLite file, the private PostgreSQL cluster, logs.
	DataDir string
	// BinDir is where dev mode installs the Temporal CLI.
	BinDir string
	// DevTemporalPort and DevTemporalUIPort are the ports of the dev-mode Temporal server and its UI.
	DevTemporalPort, DevTemporalUIPort int
	// OnboardingReminderAfter is how long after registration an unverified customer is reminded.
	OnboardingReminderAfter time.Duration
	// OnboardingDeadline is how long the onboarding workflow waits for verification in total.
	OnboardingDeadline time.Duration
	// SessionLifetime is how long an idle login session lasts.
	SessionLifetime time.Duration
	// TrustedProxies are the addresses of reverse proxies whose X-Forwarded-For header names the
	// client (TRUSTED_PROXIES, comma-separated addresses or CIDR ranges). Empty: the header is
	// ignored and the client is the connection's peer.
	TrustedProxies []netip.Prefix
	// ProvisionStepTimeout bounds one panel call of the provisioning workflow.
	ProvisionStepTimeout time.Duration
	// Billing are the subscription and dunning timings.
	Billing Billing
	// Gateways configures the payment gateways.
	Gateways Gateways
	// SellerCountry is the company's ISO country (EU reverse charge); SellerName and SellerTaxID
	// are printed on invoices.
	SellerCountry, SellerName, SellerTaxID string
	// SellerAddress lines and SellerLogo (a PNG file's contents) are printed on invoices too.
	SellerAddress []string
	SellerLogo    []byte
	// DefaultCurrency is the ISO currency the order pages show a visitor whose currency is not
	// known from their account or country.
	DefaultCurrency string
}

// Billing are the billing timings; days are BillingDay long so tests and demos can run a month
// in seconds.
type Billing struct {
	Day                time.Duration // BILLING_DAY
	Period             time.Duration // BILLING_PERIOD; 0 means calendar cycles
	RenewalLeadDays    int
	FirstPaymentDays   int
	DunningRetryDays   []int
	DunningRemindDays  int
	DunningSuspendDays int
	DunningTermDays    int
}

// Gateways configures the payment gateways; a gateway without its credentials is not offered.
type Gateways struct {
	Default string // DEFAULT_GATEWAY
	// Overpayment is what happens to money arriving for an invoice with nothing due: "refund"
	// (through the gateway that took it) or "credit" (account credit). OVERPAYMENT.
	Overpayment string
	// Sandbox is our own test gateway (hosted test-card page); on in development, and in
	// production only with SANDBOX_GATEWAY=true. SandboxSecret signs its webhooks.
	Sandbox       bool
	SandboxSecret []byte
	// SandboxAPIKey lets a worker process reach the sandbox hosted by the web process.
	SandboxAPIKey                                                string
	StripeSecretKey, StripeWebhookSecret, StripeAPIBase          string
	PayPalClientID, PayPalSecret, PayPalWebhookID, PayPalAPIBase string
}

// Development reports whether the process runs in development mode.
func (c Config) Development() bool { return c.Env == "development" }

// devAppKey is the fixed key used only in development mode when APP_KEY is unset; production refuses to start without one.
const devAppKey = "ezscale-development-key-not-for-production"

// Var describes one environment variable Load reads.
type Var struct{ Name, Default, Help string }

// Vars lists every variable Load reads, with its default and meaning, for `ezscale help`.
func Vars() []Var {
	return []Var{
		{"APP_ENV", "production (dev: development)", "development enables /dev/mail and the demo seed"},
		{"HTTP_ADDR", ":8080", "listen address of the web server"},
		{"BASE_URL", "http://localhost:8080", "public URL used in mailed links"},
		{"DATABASE_URL", "(dev: found or started)", "PostgreSQL DSN, postgres://user:pass@host:5432/db"},
		{"TEMPORAL_ADDRESS", "127.0.0.1:7233 (dev: started)", "Temporal frontend host:port"},
		{"TEMPORAL_NAMESPACE", "ezscale", "Temporal namespace"},
		{"TEMPORAL_UI_URL", "http://localhost:8233", "Temporal UI root for admin links"},
		{"TEMPORAL_TASK_QUEUE", "ezscale", "task queue the worker polls"},
		{"SMTP_URL", "(dev: built-in sink)", "smtp://user:pass@host:port?tls=starttls|tls|none"},
		{"MAIL_FROM", "EZSCALE Hosting <billing@ezscale.local>", "sender of outgoing mail"},
		{"APP_KEY", "(required in production)", "secret, at least 32 bytes or base64 of 32 bytes"},
		{"SECURE_COOKIES", "true when BASE_URL is https", "mark cookies Secure"},
		{"LOG_LEVEL", "info", "debug, info, warn, error"},
		{"METRICS_TOKEN", "(none: /metrics answers only loopback)", "bearer token a scraper must send to /metrics (Authorization: Bearer ...)"},
		{"DATA_DIR", "var", "dev-mode state: Temporal SQLite file, private PostgreSQL, logs"},
		{"BIN_DIR", "bin", "dev mode installs the Temporal CLI here"},
		{"TEMPORAL_DEV_PORT", "7233", "dev mode: port of the Temporal dev server"},
		{"TEMPORAL_UI_PORT", "8233", "dev mode: port of the Temporal UI"},
		{"ONBOARDING_REMINDER_AFTER", "24h", "delay before the verification reminder"},
		{"ONBOARDING_DEADLINE", "168h", "how long onboarding waits for verification"},
		{"SESSION_LIFETIME", "720h", "idle lifetime of a login session"},
		{"PROVISION_STEP_TIMEOUT", "2m", "longest one panel call may take before it is retried"},
		{"BILLING_DAY", "24h", "length of a billing day (shorten to run a month in minutes in demos and tests)"},
		{"BILLING_PERIOD", "(calendar cycles)", "if set, every billing cycle lasts this long instead of calendar months"},
		{"RENEWAL_LEAD_DAYS", "14", "renewal invoices are issued this many days before the due date"},
		{"FIRST_PAYMENT_DAYS", "7", "an order unpaid this many days is cancelled"},
		{"DUNNING_RETRY_DAYS", "1,3,5,7", "days after the due date a failed renewal is charged again"},
		{"DUNNING_REMINDER_DAYS", "3", "days before the due date an unpaid invoice is reminded"},
		{"DUNNING_SUSPEND_DAYS", "7", "days after the due date an unpaid service is suspended"},
		{"DUNNING_TERMINATE_DAYS", "30", "days after the due date an unpaid service is terminated"},
		{"SELLER_NAME", "EZSCALE Hosting", "company name printed on invoices"},
		{"SELLER_COUNTRY", "US", "company country (ISO code), for EU reverse charge"},
		{"SELLER_TAX_ID", "", "company VAT or tax number printed on invoices"},
		{"SELLER_ADDRESS", "", "company address printed on invoices, lines separated by |"},
		{"SELLER_LOGO", "", "path of a PNG logo printed at the top of invoices"},
		{"DEFAULT_CURRENCY", "USD", "currency the catalogue shows a visitor whose own is not known"},
		{"DEFAULT_GATEWAY", "sandbox in development, else the first configured", "gateway offered first at checkout"},
		{"OVERPAYMENT", "refund", "money arriving for an invoice with nothing due: refund (to the payer) or credit (account credit); staff are alerted either way"},
		{"SANDBOX_GATEWAY", "true in development", "offer the built-in test-card gateway (refused in production)"},
		{"SANDBOX_WEBHOOK_SECRET", "(derived from APP_KEY)", "signs the sandbox gateway's webhooks"},
		{"SANDBOX_API_KEY", "(derived from APP_KEY)", "lets workers reach the sandbox gateway hosted by the web server"},
		{"STRIPE_SECRET_KEY", "", "enables Stripe (sk_live_... or sk_test_...)"},
		{"STRIPE_WEBHOOK_SECRET", "", "whsec_... of the /webhooks/stripe endpoint"},
		{"STRIPE_API_BASE", "https://api.stripe.com", "Stripe API root (stripe-mock in tests)"},
		{"PAYPAL_CLIENT_ID", "", "enables PayPal, with PAYPAL_SECRET"},
		{"PAYPAL_SECRET", "", "PayPal REST app secret"},
		{"PAYPAL_WEBHOOK_ID", "", "id of the /webhooks/paypal webhook, for signature verification"},
		{"PAYPAL_API_BASE", "https://api-m.paypal.com", "PayPal API root (the sandbox or a simulator)"},
	}
}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests).
// defaultEnv is the environment used when APP_ENV is unset ("development" for `ezscale dev`).
func Load(getenv func(string) string, defaultEnv string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	c := Config{
		Env:               get("APP_ENV", defaultEnv),
		HTTPAddr:          get("HTTP_ADDR", ":8080"),
		BaseURL:           strings.TrimRight(get("BASE_URL", "http://localhost:8080"), "/"),
		DatabaseURL:       get("DATABASE_URL", ""),
		TemporalAddress:   get("TEMPORAL_ADDRESS", ""),
		TemporalNamespace: get("TEMPORAL_NAMESPACE", "ezscale"),
		TemporalUIURL:     strings.TrimRight(get("TEMPORAL_UI_URL", "http://localhost:8233"), "/"),
		TaskQueue:         get("TEMPORAL_TASK_QUEUE", "ezscale"),
		SMTPURL:           get("SMTP_URL", ""),
		MailFrom:          get("MAIL_FROM", "EZSCALE Hosting <billing@ezscale.local>"),
		LogLevel:          strings.ToLower(get("LOG_LEVEL", "info")),
		MetricsToken:      get("METRICS_TOKEN", ""),
		DataDir:           get("DATA_DIR", "var"),
		BinDir:            get("BIN_DIR", "bin"),
	}
	for _, p := range []struct {
		name string
		def  int
		dst  *int
	}{{"TEMPORAL_DEV_PORT", 7233, &c.DevTemporalPort}, {"TEMPORAL_UI_PORT", 8233, &c.DevTemporalUIPort}} {
		*p.dst = p.def
		if v := getenv(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				errs = append(errs, fmt.Errorf("%s %q: want a port number", p.name, v))
			}
			*p.dst = n
		}
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, fmt.Errorf("APP_ENV %q: must be development or production", c.Env))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: want host:port such as :8080", c.HTTPAddr))
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		errs = append(errs, fmt.Errorf("BASE_URL %q: want an absolute http(s) URL", c.BaseURL))
	}
	if c.DatabaseURL != "" {
		if err := ValidateDatabaseURL(c.DatabaseURL); err != nil {
			errs = append(errs, err)
		}
	} else if !c.Development() {
		errs = append(errs, errors.New("DATABASE_URL is required outside development mode"))
	}
	if c.TemporalAddress != "" {
		if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
			errs = append(errs, fmt.Errorf("TEMPORAL_ADDRESS %q: want host:port such as 127.0.0.1:7233", c.TemporalAddress))
		}
	} else if !c.Development() {
		c.TemporalAddress = "127.0.0.1:7233"
	}
	if c.SMTPURL != "" {
		if err := ValidateSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, err)
		}
	} else if !c.Development() {
		errs = append(errs, errors.New("SMTP_URL is required outside development mode"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel))
	}

	key := getenv("APP_KEY")
	switch {
	case key == "" && c.Development():
		sum := sha256.Sum256([]byte(devAppKey))
		c.AppKey = sum[:]
	case key == "":
		errs = append(errs, errors.New("APP_KEY is required outside development mode (generate one with: head -c32 /dev/urandom | base64)"))
	default:
		k, err := parseKey(key)
		if err != nil {
			errs = append(errs, err)
		}
		c.AppKey = k
	}

	c.SecureCookies = base != nil && base.Scheme == "https"
	if v := getenv("SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SECURE_COOKIES %q: want true or false", v))
		}
		c.SecureCookies = b
	}

	proxies, err := ParseTrustedProxies(getenv("TRUSTED_PROXIES"))
	if err != nil {
		errs = append(errs, err)
	}
	c.TrustedProxies = proxies

	durations := []struct {
		name string
		def  time.Duration
		dst  *time.Duration
	}{
		{"ONBOARDING_REMINDER_AFTER", 24 * time.Hour, &c.OnboardingReminderAfter},
		{"ONBOARDING_DEADLINE", 7 * 24 * time.Hour, &c.OnboardingDeadline},
		{"SESSION_LIFETIME", 30 * 24 * time.Hour, &c.SessionLifetime},
		{"PROVISION_STEP_TIMEOUT", 2 * time.Minute, &c.ProvisionStepTimeout},
	}
	for _, d := range durations {
		*d.dst = d.def
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil || parsed <= 0 {
			errs = append(errs, fmt.Errorf("%s %q: want a positive duration such as 24h or 90s", d.name, v))
			continue
		}
		*d.dst = parsed
	}
	errs = append(errs, c.loadBilling(get)...)
	if c.OnboardingDeadline <= c.OnboardingReminderAfter {
		errs = append(errs, fmt.Errorf("ONBOARDING_DEADLINE (%s) must be longer than ONBOARDING_REMINDER_AFTER (%s)", c.OnboardingDeadline, c.OnboardingReminderAfter))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// ParseTrustedProxies reads TRUSTED_PROXIES: addresses ("10.0.0.5") and CIDR ranges
// ("10.0.0.0/8", "fd00::/8") separated by commas. An empty value trusts no proxy.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES %q: want addresses or CIDR ranges such as 10.0.0.0/8, separated by commas", f)
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

// ValidateDatabaseURL checks that s is a postgres:// URL with a host and a database name.
func ValidateDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("DATABASE_URL is not a valid URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("DATABASE_URL %q: scheme must be postgres://", redact(u))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("DATABASE_URL %q: missing host", redact(u))
	}
	if strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("DATABASE_URL %q: missing database name (…/dbname)", redact(u))
	}
	return nil
}

// ValidateSMTPURL checks that s is an smtp:// URL with a host and port and a known tls mode.
func ValidateSMTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("SMTP_URL is not a valid URL: %w", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return fmt.Errorf("SMTP_URL %q: scheme must be smtp:// or smtps://", redact(u))
	}
	if u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("SMTP_URL %q: want host:port", redact(u))
	}
	switch u.Query().Get("tls") {
	case "", "none", "starttls", "tls":
	default:
		return fmt.Errorf("SMTP_URL %q: tls must be none, starttls or tls", redact(u))
	}
	return nil
}

func redact(u *url.URL) string {
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			c := *u
			c.User = url.UserPassword(u.User.Username(), "xxxxx")
			return c.String()
		}
	}
	return u.String()
}

func parseKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) >= 32 {
		return b, nil
	}
	if len(s) >= 32 {
		return []byte(s), nil
	}
	return nil, errors.New("APP_KEY must be at least 32 bytes, or base64 of at least 32 bytes")
}

// loadBilling reads the billing timings, the seller and the gateways.
func (c *Config) loadBilling(get func(name, def string) string) []error {
	var errs []error
	b := &c.Billing
	for _, d := range []struct {
		name, def string
		dst       *time.Duration
		zeroOK    bool
	}{{"BILLING_DAY", "24h", &b.Day, false}, {"BILLING_PERIOD", "0", &b.Period, true}} {
		v, err := time.ParseDuration(get(d.name, d.def))
		if err != nil || v < 0 || (v == 0 && !d.zeroOK) {
			errs = append(errs, fmt.Errorf("%s %q: want a positive duration such as 24h or 2s", d.name, get(d.name, d.def)))
		}
		*d.dst = v
	}
	for _, n := range []struct {
		name string
		def  int
		dst  *int
	}{
		{"RENEWAL_LEAD_DAYS", 14, &b.RenewalLeadDays}, {"FIRST_PAYMENT_DAYS", 7, &b.FirstPaymentDays},
		{"DUNNING_REMINDER_DAYS", 3, &b.DunningRemindDays}, {"DUNNING_SUSPEND_DAYS", 7, &b.DunningSuspendDays},
		{"DUNNING_TERMINATE_DAYS", 30, &b.DunningTermDays},
	} {
		v, err := strconv.Atoi(get(n.name, strconv.Itoa(n.def)))
		if err != nil || v < 1 {
			errs = append(errs, fmt.Errorf("%s %q: want a whole number of days, at least 1", n.name, get(n.name, "")))
		}
		*n.dst = v
	}
	for _, f := range strings.Split(get("DUNNING_RETRY_DAYS", "1,3,5,7"), ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("DUNNING_RETRY_DAYS %q: want days such as 1,3,5,7", get("DUNNING_RETRY_DAYS", "")))
			break
		}
		b.DunningRetryDays = append(b.DunningRetryDays, v)
	}
	if b.DunningTermDays <= b.DunningSuspendDays {
		errs = append(errs, fmt.Errorf("DUNNING_TERMINATE_DAYS (%d) must be after DUNNING_SUSPEND_DAYS (%d)", b.DunningTermDays, b.DunningSuspendDays))
	}

	c.SellerName = get("SELLER_NAME", "EZSCALE Hosting")
	c.SellerCountry = strings.ToUpper(get("SELLER_COUNTRY", "US"))
	c.SellerTaxID = get("SELLER_TAX_ID", "")
	for _, l := range strings.Split(get("SELLER_ADDRESS", ""), "|") {
		if l = strings.TrimSpace(l); l != "" {
			c.SellerAddress = append(c.SellerAddress, l)
		}
	}
	if path := get("SELLER_LOGO", ""); path != "" {
		logo, err := os.ReadFile(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("SELLER_LOGO %q: %v", path, err))
		case !bytes.HasPrefix(logo, []byte("\x89PNG\r\n\x1a\n")):
			errs = append(errs, fmt.Errorf("SELLER_LOGO %q: not a PNG file", path))
		default:
			c.SellerLogo = logo
		}
	}
	if len(c.SellerCountry) != 2 {
		errs = append(errs, fmt.Errorf("SELLER_COUNTRY %q: want a two-letter ISO code", c.SellerCountry))
	}
	c.DefaultCurrency = strings.ToUpper(get("DEFAULT_CURRENCY", "USD"))
	if _, err := billing.CurrencyExponent(c.DefaultCurrency); err != nil {
		errs = append(errs, fmt.Errorf("DEFAULT_CURRENCY %q: want an ISO 4217 currency code such as USD", c.DefaultCurrency))
	}

	g := &c.Gateways
	sandbox, err := strconv.ParseBool(get("SANDBOX_GATEWAY", strconv.FormatBool(c.Development())))
	if err != nil {
		errs = append(errs, fmt.Errorf("SANDBOX_GATEWAY %q: want true or false", get("SANDBOX_GATEWAY", "")))
	}
	g.Sandbox = sandbox
	if sandbox && c.Env == "production" {
		errs = append(errs, errors.New("SANDBOX_GATEWAY=true is refused with APP_ENV=production: its test cards would pay real invoices in a live shop (use APP_ENV=development for a demo)"))
	}
	if s := get("SANDBOX_WEBHOOK_SECRET", ""); s != "" {
		g.SandboxSecret = []byte(s)
	} else {
		sum := sha256.Sum256(append([]byte("sandbox-webhook:"), c.AppKey...))
		g.SandboxSecret = sum[:]
	}
	if k := get("SANDBOX_API_KEY", ""); k != "" {
		g.SandboxAPIKey = k
	} else {
		sum := sha256.Sum256(append([]byte("sandbox-api:"), c.AppKey...))
		g.SandboxAPIKey = hex.EncodeToString(sum[:])
	}
	g.StripeSecretKey, g.StripeWebhookSecret = get("STRIPE_SECRET_KEY", ""), get("STRIPE_WEBHOOK_SECRET", "")
	g.StripeAPIBase = strings.TrimRight(get("STRIPE_API_BASE", ""), "/")
	g.PayPalClientID, g.PayPalSecret = get("PAYPAL_CLIENT_ID", ""), get("PAYPAL_SECRET", "")
	g.PayPalWebhookID, g.PayPalAPIBase = get("PAYPAL_WEBHOOK_ID", ""), strings.TrimRight(get("PAYPAL_API_BASE", ""), "/")
	if g.StripeSecretKey != "" && g.StripeWebhookSecret == "" {
		errs = append(errs, errors.New("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY (webhooks confirm payments)"))
	}
	if (g.PayPalClientID == "") != (g.PayPalSecret == "") {
		errs = append(errs, errors.New("PAYPAL_CLIENT_ID and PAYPAL_SECRET go together"))
	}
	g.Overpayment = get("OVERPAYMENT", "refund")
	if g.Overpayment != "refund" && g.Overpayment != "credit" {
		errs = append(errs, fmt.Errorf("OVERPAYMENT %q: want refund or credit", g.Overpayment))
	}
	g.Default = get("DEFAULT_GATEWAY", "")
	if g.Default == "" {
		switch {
		case g.Sandbox && c.Development():
			g.Default = "sandbox"
		case g.StripeSecretKey != "":
			g.Default = "stripe"
		case g.PayPalClientID != "":
			g.Default = "paypal"
		case g.Sandbox:
			g.Default = "sandbox"
		}
	}
	return errs
}
