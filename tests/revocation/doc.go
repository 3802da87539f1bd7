// Package revocation holds the revocation-under-load tests: many clients hammer the gateway
// with one key while it is revoked (or reaches its expiry), and the upstream counts what got
// through. It has no non-test code.
package revocation
