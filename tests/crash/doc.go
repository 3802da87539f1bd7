// Package crash holds the durability tests: `keygate serve` killed with SIGKILL at random
// moments while keys are created and revoked through the console API and the CLI, and a full
// disk. Every acknowledged write must survive. It has no non-test code.
package crash
