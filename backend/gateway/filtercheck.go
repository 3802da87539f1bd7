package gateway

import (
	"fmt"

	"github.com/keygate/keygate/backend/problem"
)

// MaxRequestsLimit bounds Filter.Limit.
const MaxRequestsLimit = 1000

var (
	// ErrInvalidStatusFilter means a Filter.Status that is neither a class nor a code.
	ErrInvalidStatusFilter error = &problem.Invalid{Field: "status", Code: "invalid", Msg: "validation.requests.status.invalid",
		Text: "status must be a class such as 4xx or a code such as 401"}
	// ErrInvalidRequestsLimit means a Filter.Limit outside 0 (default) to MaxRequestsLimit.
	ErrInvalidRequestsLimit error = &problem.Invalid{Field: "limit", Code: "range", Msg: "validation.limit.range",
		Data: map[string]any{"Count": MaxRequestsLimit}, Text: fmt.Sprintf("limit must be between 1 and %d", MaxRequestsLimit)}
	// ErrInvalidTimeRange means a Filter whose To is not after its From.
	ErrInvalidTimeRange error = &problem.Invalid{Field: "to", Code: "range", Msg: "validation.time_range.order",
		Text: "the end of the time range must be after its start"}
)

// Check refuses a filter a caller gave that Requests and QueryRequests would otherwise
// silently widen or clamp.
func (f Filter) Check() error {
	if !ValidStatusFilter(f.Status) {
		return ErrInvalidStatusFilter
	}
	if f.Limit < 0 || f.Limit > MaxRequestsLimit {
		return ErrInvalidRequestsLimit
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return ErrInvalidTimeRange
	}
	return nil
}
