package testenv

import (
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// NoteKeys is a fresh note key pair named name (signed manifests, audit
// checkpoints, work items): its signer and the verifier that checks it.
// A failure to make them fails the test.
func NoteKeys(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}
