package store

// MigrateOnlyTo makes stores opened until restore is called stop at schema version v, to build
// a database as an older Keygate left it.
func MigrateOnlyTo(v int) (restore func()) {
	migrateTo = v
	return func() { migrateTo = 0 }
}
