// Package contract is the contract test: it starts the real `keygate serve`, reads the
// console's own OpenAPI document from it, and sends every operation the document lists
// requests generated from the document's schemas — valid ones, and ones with a required field
// missing, wrong types, out-of-range numbers, odd and huge strings, unknown fields, bad JSON, a
// wrong content type, an oversized body, bad path ids and unknown query parameters — as an
// admin and as a member. It fails on any 5xx, on any status the operation does not document, on
// an error body that is not problem+json, and on a success body that does not match the
// documented schema. The gateway's own answers get the same treatment over sockets. Nothing is
// listed by hand: a new operation is covered the moment it is in the table.
//
// The generator is seeded (KEYGATE_CONTRACT_SEED, default fixed) and bounded
// (KEYGATE_CONTRACT_ROUNDS, default 2; `make fuzz` runs more), so a failure is repeatable. It
// has no non-test code.
package contract
