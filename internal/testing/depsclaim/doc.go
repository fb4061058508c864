// Package depsclaim holds the test behind the README's dependency claim:
// civicport's feature packages (decorators, migration, custody, the
// envelope) link no cloud SDK and no cgo PKCS#11, so a program that uses
// one of them links only gocloud's portable core and what that feature
// needs. Only the openers (blob, secrets, pubsub), the drivers under
// adapters/ and the composition root link SDKs. It has no non-test code.
package depsclaim
