package console

import "time"

// CheckTable exposes checkTable to the black-box tests.
var CheckTable = checkTable

// SetFollowRecheck shortens how often a follower's rights are checked again, until undo.
func SetFollowRecheck(d time.Duration) (undo func()) {
	old := followRecheckEvery
	followRecheckEvery = d
	return func() { followRecheckEvery = old }
}
