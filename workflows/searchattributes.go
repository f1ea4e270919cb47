package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes (all Keyword) that let ops find an entity's workflows in the Temporal UI and
// CLI, e.g. `CustomerId = "42"`. They must be registered on the server (`temporal server start-dev
// --search-attribute CustomerId=Keyword ...` or `temporal operator search-attribute create`).
// Lists shown to customers and staff come from PostgreSQL: visibility is eventually consistent.
var (
	// CustomerIDKey is the id of the customer (user) a workflow acts for.
	CustomerIDKey = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	// ServiceIDKey is the id of the service a workflow provisions or manages.
	ServiceIDKey = temporal.NewSearchAttributeKeyKeyword("ServiceId")
	// SubscriptionStatusKey is the current status of a subscription workflow.
	SubscriptionStatusKey = temporal.NewSearchAttributeKeyKeyword("SubscriptionStatus")
	// ProviderKey is the panel or gateway a workflow talks to.
	ProviderKey = temporal.NewSearchAttributeKeyKeyword("Provider")
)

// SearchAttributeNames lists the custom search attributes the platform's workflows use, all of
// type Keyword, for registering them on a server.
func SearchAttributeNames() []string {
	return []string{
		CustomerIDKey.GetName(),
		ServiceIDKey.GetName(),
		SubscriptionStatusKey.GetName(),
		ProviderKey.GetName(),
	}
}
