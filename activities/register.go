package activities

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/workflows"
)

// Register adds the onboarding workflow and its activities to a worker. Activities are registered
// under the names the workflow calls them by (workflows.Activity*), so renaming a method cannot
// silently break running workflows.
func Register(r worker.Registry, a *Onboarding) {
	r.RegisterWorkflow(workflows.Onboarding)
	r.RegisterActivityWithOptions(a.SendVerification, activity.RegisterOptions{Name: workflows.ActivitySendVerification})
	r.RegisterActivityWithOptions(a.EmailVerified, activity.RegisterOptions{Name: workflows.ActivityEmailVerified})
}
