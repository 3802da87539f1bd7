package main

import (
	"slices"
	"testing"
)

// TestRunOrderPairsRatioCases: in every round the two cases of each ratio target run one right
// after the other, every case runs once, and the order turns round every other round.
func TestRunOrderPairsRatioCases(t *testing.T) {
	have := map[string]bool{}
	for _, c := range cases {
		have[c.Target] = true
	}
	all := selectCases(nil, have)
	pairs := [][2]string{
		{"keygate-key", "nginx-key"}, {"keygate-open", "keygate-key"}, {"keygate-open", "nginx-pass"},
		{"keygate-401-missing", "nginx-401"}, {"keygate-401-unknown", "nginx-401"},
	}
	var first []string
	for run := range 3 {
		var names []string
		for _, c := range runOrder(all, run) {
			names = append(names, c.Name)
		}
		if len(names) != len(all) {
			t.Fatalf("round %d runs %d cases of %d", run, len(names), len(all))
		}
		for _, c := range all {
			if !slices.Contains(names, c.Name) {
				t.Fatalf("round %d lacks %s", run, c.Name)
			}
		}
		for _, p := range pairs {
			i, j := slices.Index(names, p[0]), slices.Index(names, p[1])
			if i-j != 1 && j-i != 1 {
				t.Errorf("round %d: %s and %s run %d cases apart", run, p[0], p[1], max(i-j, j-i))
			}
		}
		switch run {
		case 0:
			first = names
		case 1:
			r := slices.Clone(first)
			slices.Reverse(r)
			if !slices.Equal(names, r) {
				t.Errorf("round 2 does not run round 1 backwards: %v", names)
			}
		case 2:
			if !slices.Equal(names, first) {
				t.Errorf("round 3 is not round 1's order: %v", names)
			}
		}
	}
	// Only some cases selected: they keep the same relative order.
	some := selectCases([]string{"nginx-401", "keygate-key", "nginx-key"}, have)
	if got := runOrder(some, 0); len(got) != 3 || got[0].Name != "keygate-key" || got[1].Name != "nginx-key" {
		t.Errorf("a selection runs as %v", got)
	}
}
