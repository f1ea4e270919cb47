package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDevelopmentDefaults(t *testing.T) {
	c, err := Load(env(nil), "development")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Development() || c.HTTPAddr != ":8080" || c.TemporalNamespace != "ezscale" || c.OnboardingReminderAfter != 24*time.Hour ||
		len(c.AppKey) != 32 || c.SecureCookies || c.DevTemporalPort != 7233 || c.DevTemporalUIPort != 8233 {
		t.Fatalf("defaults = %+v", c)
	}
	if c.DatabaseURL != "" || c.TemporalAddress != "" || c.SMTPURL != "" {
		t.Fatal("dev mode must leave DATABASE_URL, TEMPORAL_ADDRESS and SMTP_URL empty so it can start its own")
	}
}

func TestInvalidSettingsAreRefusedWithTheirNames(t *testing.T) {
	cases := map[string]map[string]string{
		"DATABASE_URL":              {"DATABASE_URL": "mysql://root@localhost/x"},
		"missing database name":     {"DATABASE_URL": "postgres://u@localhost:5432"},
		"TEMPORAL_ADDRESS":          {"TEMPORAL_ADDRESS": "no-port"},
		"BASE_URL":                  {"BASE_URL": "ftp://x"},
		"ONBOARDING_REMINDER_AFTER": {"ONBOARDING_REMINDER_AFTER": "soon"},
		"ONBOARDING_DEADLINE":       {"ONBOARDING_REMINDER_AFTER": "48h", "ONBOARDING_DEADLINE": "24h"},
		"APP_KEY":                   {"APP_KEY": "short"},
		"SMTP_URL":                  {"SMTP_URL": "smtp://mail.example.com:25?tls=maybe"},
		"LOG_LEVEL":                 {"LOG_LEVEL": "loud"},
		"TEMPORAL_DEV_PORT":         {"TEMPORAL_DEV_PORT": "99999"},
		"APP_ENV":                   {"APP_ENV": "staging"},
		"TRUSTED_PROXIES":           {"TRUSTED_PROXIES": "10.0.0.1, proxy.example.com"},
	}
	for want, vars := range cases {
		_, err := Load(env(vars), "development")
		if err == nil || !strings.Contains(err.Error(), strings.Fields(want)[0]) {
			t.Errorf("%v: err = %v; want an error naming %s", vars, err, want)
		}
	}
}

func TestProductionRequiresItsSecretsAndServices(t *testing.T) {
	_, err := Load(env(nil), "production")
	for _, name := range []string{"DATABASE_URL", "SMTP_URL", "APP_KEY"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("production without %s: err = %v", name, err)
		}
	}
	c, err := Load(env(map[string]string{
		"DATABASE_URL": "postgres://app:secret@db:5432/ezscale?sslmode=disable",
		"SMTP_URL":     "smtp://mail:587?tls=starttls",
		"APP_KEY":      "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"BASE_URL":     "https://billing.example.com",
	}), "production")
	if err != nil {
		t.Fatal(err)
	}
	if !c.SecureCookies || c.TemporalAddress != "127.0.0.1:7233" || string(c.AppKey) != "01234567890123456789012345678901" {
		t.Fatalf("production config = %+v", c)
	}
}

func TestErrorsDoNotLeakPasswords(t *testing.T) {
	_, err := Load(env(map[string]string{"DATABASE_URL": "postgres://app:hunter2@db:5432"}), "development")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want an error without the password", err)
	}
}

func TestBillingDefaultsAndOverrides(t *testing.T) {
	c, err := Load(env(nil), "development")
	if err != nil {
		t.Fatal(err)
	}
	b := c.Billing
	if b.Day != 24*time.Hour || b.Period != 0 || b.RenewalLeadDays != 14 || b.FirstPaymentDays != 7 ||
		fmt.Sprint(b.DunningRetryDays) != "[1 3 5 7]" || b.DunningSuspendDays != 7 || b.DunningTermDays != 30 {
		t.Fatalf("billing defaults %+v", b)
	}
	if !c.Gateways.Sandbox || c.Gateways.Default != "sandbox" || len(c.Gateways.SandboxSecret) == 0 {
		t.Fatalf("development gateways %+v", c.Gateways)
	}
	c, err = Load(env(map[string]string{"BILLING_DAY": "1s", "BILLING_PERIOD": "30s", "DUNNING_RETRY_DAYS": "2, 4",
		"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x", "SANDBOX_GATEWAY": "false"}), "development")
	if err != nil {
		t.Fatal(err)
	}
	if c.Billing.Day != time.Second || c.Billing.Period != 30*time.Second || fmt.Sprint(c.Billing.DunningRetryDays) != "[2 4]" ||
		c.Gateways.Sandbox || c.Gateways.Default != "stripe" {
		t.Fatalf("overrides %+v %+v", c.Billing, c.Gateways)
	}
	for name, m := range map[string]map[string]string{
		"BILLING_DAY":            {"BILLING_DAY": "0s"},
		"DUNNING_RETRY_DAYS":     {"DUNNING_RETRY_DAYS": "1,x"},
		"DUNNING_TERMINATE_DAYS": {"DUNNING_TERMINATE_DAYS": "5"},
		"STRIPE_WEBHOOK_SECRET":  {"STRIPE_SECRET_KEY": "sk_test_x"},
		"PAYPAL_SECRET":          {"PAYPAL_CLIENT_ID": "abc"},
		"SELLER_COUNTRY":         {"SELLER_COUNTRY": "USA"},
	} {
		if _, err := Load(env(m), "development"); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: err = %v, want one naming %s", m, err, name)
		}
	}
}

func TestSellerLogoMustBeAReadablePNG(t *testing.T) {
	dir := t.TempDir()
	text := dir + "/logo.txt"
	png := dir + "/logo.png"
	if err := os.WriteFile(text, []byte("not a picture"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\nrest"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{text, dir + "/missing.png"} {
		if _, err := Load(env(map[string]string{"SELLER_LOGO": path}), "development"); err == nil || !strings.Contains(err.Error(), "SELLER_LOGO") {
			t.Errorf("SELLER_LOGO=%s: err = %v", path, err)
		}
	}
	c, err := Load(env(map[string]string{"SELLER_LOGO": png, "SELLER_ADDRESS": "1 Main St | Springfield"}), "development")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SellerLogo) == 0 || fmt.Sprint(c.SellerAddress) != "[1 Main St Springfield]" {
		t.Fatalf("logo %d bytes, address %q", len(c.SellerLogo), c.SellerAddress)
	}
}

// TestProductionRefusesTheSandboxGateway: test cards must never pay in a live shop, so
// APP_ENV=production with SANDBOX_GATEWAY=true stops with an error naming the setting.
func TestProductionRefusesTheSandboxGateway(t *testing.T) {
	prod := map[string]string{
		"DATABASE_URL": "postgres://app:secret@db:5432/ezscale?sslmode=disable",
		"SMTP_URL":     "smtp://mail:587?tls=starttls",
		"APP_KEY":      "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"BASE_URL":     "https://billing.example.com",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range prod {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, vars := range []map[string]string{
		{"SANDBOX_GATEWAY": "true"},
		{"SANDBOX_GATEWAY": "1"},
		{"SANDBOX_GATEWAY": "true", "APP_ENV": "production"},
	} {
		if _, err := Load(env(with(vars)), "production"); err == nil || !strings.Contains(err.Error(), "SANDBOX_GATEWAY") {
			t.Errorf("production with %v: err = %v; want a refusal naming SANDBOX_GATEWAY", vars, err)
		}
	}
	if _, err := Load(env(with(map[string]string{"SANDBOX_GATEWAY": "true", "APP_ENV": "production"})), "development"); err == nil {
		t.Error("APP_ENV=production under a development default still allows the sandbox gateway")
	}
	c, err := Load(env(with(map[string]string{"SANDBOX_GATEWAY": "false"})), "production")
	if err != nil || c.Gateways.Sandbox {
		t.Fatalf("production without the sandbox: %v, sandbox %v", err, c.Gateways.Sandbox)
	}
	if c, err := Load(env(map[string]string{"SANDBOX_GATEWAY": "true"}), "development"); err != nil || !c.Gateways.Sandbox {
		t.Fatalf("development with the sandbox: %v", err)
	}
}

func TestMetricsToken(t *testing.T) {
	c, err := Load(env(map[string]string{"METRICS_TOKEN": " scrape-me "}), "development")
	if err != nil || c.MetricsToken != "scrape-me" {
		t.Fatalf("METRICS_TOKEN: %q, %v", c.MetricsToken, err)
	}
	if c, _ := Load(env(nil), "development"); c.MetricsToken != "" {
		t.Fatalf("default METRICS_TOKEN %q; want none", c.MetricsToken)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"TRUSTED_PROXIES": " 10.0.0.5, 172.16.0.0/12 ,fd00::/8,::ffff:192.0.2.1"}), "development")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if want := "10.0.0.5/32 172.16.0.0/12 fd00::/8 192.0.2.1/32"; strings.Join(got, " ") != want {
		t.Fatalf("TrustedProxies = %v; want %s", got, want)
	}
	if c, _ := Load(env(nil), "development"); len(c.TrustedProxies) != 0 {
		t.Fatalf("default TrustedProxies = %v; want none", c.TrustedProxies)
	}
}

func TestDefaultCurrency(t *testing.T) {
	if c, err := Load(env(nil), "development"); err != nil || c.DefaultCurrency != "USD" {
		t.Fatalf("default DEFAULT_CURRENCY = %q, %v; want USD", c.DefaultCurrency, err)
	}
	if c, err := Load(env(map[string]string{"DEFAULT_CURRENCY": "gbp"}), "development"); err != nil || c.DefaultCurrency != "GBP" {
		t.Fatalf("DEFAULT_CURRENCY=gbp: %q, %v; want GBP", c.DefaultCurrency, err)
	}
	for _, bad := range []string{"EURO", "E1R", "$", "ABC"} {
		if _, err := Load(env(map[string]string{"DEFAULT_CURRENCY": bad}), "development"); err == nil || !strings.Contains(err.Error(), "DEFAULT_CURRENCY") {
			t.Errorf("DEFAULT_CURRENCY=%q: err = %v; want a refusal naming the variable", bad, err)
		}
	}
}
