package main

import "testing"

// TestGeneratedFilesAreCurrent fails when a committed generated file differs from what the
// operation table produces now: run `make generate`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if err := run("../..", true); err != nil {
		t.Fatal(err)
	}
}

// TestReplaceBetweenMarkers keeps the hand-written parts of docs/api.md and refuses a file
// without the markers.
func TestReplaceBetweenMarkers(t *testing.T) {
	doc := []byte("intro\n" + beginMarker + "\nold\n" + endMarker + "\noutro\n")
	got, err := replaceBetweenMarkers(doc, []byte(beginMarker+"\nnew\n"+endMarker))
	if err != nil {
		t.Fatal(err)
	}
	if want := "intro\n" + beginMarker + "\nnew\n" + endMarker + "\noutro\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := replaceBetweenMarkers([]byte("no markers"), nil); err == nil {
		t.Fatal("a file without markers was accepted")
	}
	if _, err := replaceBetweenMarkers([]byte(endMarker+beginMarker), nil); err == nil {
		t.Fatal("markers out of order were accepted")
	}
}
