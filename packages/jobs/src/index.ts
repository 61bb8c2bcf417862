// Submission: what POST /v1/tenants/{tid}/jobs does, independent of the HTTP framework.

// Attempts: what one run of a job does in a worker, from its row to its terminal state.
