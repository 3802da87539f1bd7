// Package security is the security suite: it starts the real `keygate serve` and attacks
// it over real sockets — spoofed identity headers, Connection and Upgrade tricks, request
// smuggling, oversized and slow requests, keys in query strings, cross-organization keys,
// session fixation, CSRF, role escalation, setup-token reuse, path traversal, forwarded-for
// spoofing and log injection, and the second audit's classes (gateway2_test.go, login_test.go,
// docs_test.go, datadir_test.go, orgs_test.go, small_test.go, retention_test.go) — and finally
// searches the logs and the database files for every
// secret it handled. It has no non-test code.
package security
