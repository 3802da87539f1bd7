package main

// The files derived from the console's operation table (backend/console/operations.go): the
// App methods the desktop window binds, the frontend's operation map and types, and the table
// in docs/api.md. `make test` fails when one of them is stale.
//go:generate go run ./tools/generate
