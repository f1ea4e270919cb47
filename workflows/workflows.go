// Package workflows holds the platform's deterministic Temporal workflows and the vocabulary that
// handlers, workers and workflows share: workflow IDs, task queue, signal and query names, search
// attributes and message types. It must not touch the network, the clock or the database.
package workflows

// TaskQueue is the task queue the platform's worker polls and every workflow is started on.
const TaskQueue = "ezscale"
