// Package secretstest is civicport's conformance suite for secrets keepers:
// it measures, against a live *secrets.Keeper (AWS KMS, Google Cloud KMS, a
// PKCS#11 token, a local key, a ring), which of the promises civicport
// relies on really hold, one conformance.Result per capability
// (conformance.SecretsCapabilities).
//
// Why: gocloud's portable keeper hides very different services behind
// Encrypt and Decrypt. Before an election office moves its keys from one
// provider to another it needs to know that the new keeper really encrypts
// (the ciphertext is not the plaintext), really refuses a ciphertext that was
// changed, truncated or made by another key (never returns a wrong
// plaintext), can be the key-encryption key of civicport's envelopes for
// records of any size, and lets data keys be moved onto it and off it
// (envelope.Rewrap) without re-encrypting records. gocloud's drivertest is a
// pass/fail test for driver authors; this suite is a measurement for users.
//
// It is used in two ways:
//
//   - from a user's own `go test`, with Test (one subtest per capability);
//   - without `go test`, by `civicport conform --secrets URL`, with Run and
//     URLOpener.
//
// Both take an Opener, called once per capability: it may return a keeper
// on a fresh key every time (tests) or the same configured keeper every time
// (the CLI). A check never assumes that two calls reach the same key. Every
// keeper the suite opens it closes.
//
// What each capability means, and when it passes:
//
//   - secrets.roundtrip: plaintexts of 1, 2, 15, 16, 17, 31, 32 (a data
//     key), 33, 64, 100, 255, 256, 1000 and 1024 random bytes, the 256 byte
//     values in order, and 32 plaintexts encrypted and decrypted from 8
//     goroutines at once, must each decrypt back byte for byte; no
//     ciphertext may equal its plaintext, nor (for 16 bytes or more) contain
//     it. Then an empty plaintext and 4 KiB, 4 KiB + 1, 64 KiB, 64 KiB + 1
//     and 1 MiB are probed: a refusal at Encrypt is a note (AWS KMS takes at
//     most 4 KiB, Google Cloud KMS 64 KiB; envelopes only ever give a keeper
//     32 bytes), an accepted plaintext that does not come back is a fail.
//     Two encryptions of one plaintext that give the same ciphertext
//     (deterministic encryption) are a NOTE on a pass, not a fail: the
//     portable API does not promise randomised encryption and civicport's
//     envelopes, which wrap a fresh random data key each time, are not
//     weakened by it; but a program that encrypts records directly with
//     such a keeper leaks which records are equal, so the note says so.
//   - secrets.tamper_detect: the ciphertext of a 48-byte plaintext (which
//     must itself decrypt) is changed: a bit flipped at every byte (at 64
//     evenly spread bytes of longer ciphertexts), truncated (by 1 byte, by
//     16, to half, to 1 byte, to nothing), extended by a byte, replaced by
//     random bytes of its length, and replaced by the ciphertext of the same
//     plaintext under another key (a random local key, and
//     Options.Second's key when set). Decrypt must refuse each. Decrypt
//     returning any other plaintext without an error is a fail. Returning
//     the ORIGINAL plaintext is a note: a changed byte the keeper does not
//     authenticate (harmless, but reported), or another key's ciphertext
//     the keeper could decrypt (gocloud allows it: AWS KMS, for one, finds
//     the key from the ciphertext, and only access policy keeps keys
//     apart).
//   - secrets.large_plaintext: Options.LargePlaintextSize bytes (default
//     64 MiB) of pseudo-random data are streamed through a civicport
//     envelope (envelope.NewEncrypter, then envelope.NewDecrypter) with the
//     keeper as the only key-encryption key, through a pipe, hashing with
//     SHA-256 on both sides: the size and the hash must match. Nothing is
//     held in memory beyond a few chunks.
//   - secrets.key_rotation: the promise measured is civicport's rotation
//     story: a record's data key can be moved onto a new key and off an old
//     one by rewriting the envelope header alone (envelope.Rewrap), and after
//     each move only the keys it names decrypt. An envelope (several
//     chunks) is made under a random local key A; it is rewrapped onto the
//     keeper (A dropped) and must then decrypt with the keeper alone while A
//     is refused (envelope.ErrWrongKey); it is rewrapped off the keeper onto
//     a local key B (the keeper unwraps) and must decrypt with B while the
//     keeper is refused. With Options.Second (another key on the same
//     backend) it is also rewrapped from the keeper to that key, which must
//     decrypt it alone; the old keeper given the new key's wrapped data key
//     must refuse it (the same data key is a note, as above; another
//     plaintext is a fail). With Options.Rotate (the provider's own
//     rotation, e.g. a new primary key version) a ciphertext and an envelope
//     made before the rotation must still decrypt after it, and new ones
//     must round-trip.
//
// A keeper whose Encrypt says gcerrors.Unimplemented is unsupported for
// every capability. A check that runs out of time (Options.CheckTimeout) is
// a fail with the evidence gathered so far.
package secretstest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/harness"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

// Opener returns a keeper. The suite calls it once per capability (and
// closes what it returns). It may return a keeper on a fresh key every time
// or the same configured keeper every time.
type Opener func(ctx context.Context) (*gcsecrets.Keeper, error)

// Options tune the suite. A nil *Options is the same as the zero value; zero
// fields take the defaults below.
type Options struct {
	// Capabilities limits the run to these capability names (see
	// conformance.SecretsCapabilities), in the suite's order. Nil or empty
	// runs all of them. An unknown name gives a skipped result saying so
	// (and a test error under Test).
	Capabilities []string

	// LargePlaintextSize is how many bytes secrets.large_plaintext streams
	// through an envelope. Default DefaultLargePlaintextSize (64 MiB).
	LargePlaintextSize int64

	// Second, if set, opens a keeper on ANOTHER key of the same backend
	// (another KMS key, another HSM key). secrets.key_rotation then also
	// rotates from the keeper to it, and secrets.tamper_detect also gives
	// the keeper a ciphertext of the second key. Nil measures those with a
	// random in-process key as the other key.
	Second Opener

	// Rotate, if set, rotates the key of k in the provider (Cloud KMS: a
	// new primary key version; AWS KMS: RotateKeyOnDemand), so that
	// secrets.key_rotation can check that what was encrypted before still
	// decrypts after. k is a keeper the suite's Opener returned. Nil leaves
	// provider-side rotation unmeasured (the detail says so).
	Rotate func(ctx context.Context, k *gcsecrets.Keeper) error

	// CheckTimeout bounds each capability check, including opening its
	// keeper. A check that runs out of time is a fail. Default
	// DefaultCheckTimeout.
	CheckTimeout time.Duration

	// Logf, if set, receives progress lines. Test sets it to t.Logf when
	// nil; Run discards them.
	Logf func(format string, args ...any)
}

// Defaults for Options.
const (
	DefaultLargePlaintextSize = 64 << 20
	DefaultCheckTimeout       = 5 * time.Minute
)

func (o *Options) withDefaults() *Options {
	c := harness.Deref(o)
	c.LargePlaintextSize = harness.OrDefault(c.LargePlaintextSize, DefaultLargePlaintextSize)
	c.CheckTimeout = harness.OrDefault(c.CheckTimeout, DefaultCheckTimeout)
	return &c
}

// suite is the suite over open, with opts' defaults applied.
func suite(open Opener, opts *Options) harness.Suite {
	o := opts.withDefaults()
	return harness.Suite{
		Name:         "secretstest",
		Capabilities: conformance.SecretsCapabilities(),
		Options:      harness.Options{Capabilities: o.Capabilities, CheckTimeout: o.CheckTimeout, Logf: o.Logf},
		Check: func(ctx context.Context, capName string, logf harness.Logf) verdict.Outcome {
			co := *o
			co.Logf = logf
			return runCheck(ctx, open, &co, capName)
		},
	}
}

// Run measures every selected capability against keepers from open and
// returns one result per capability, in the order of
// conformance.SecretsCapabilities. It never panics (a panicking check,
// Opener or driver is a fail with the panic value as evidence). When ctx
// ends, the check in progress stops and it and all later ones are reported
// as skipped.
func Run(ctx context.Context, open Opener, opts *Options) []conformance.Result {
	return harness.Run(ctx, suite(open, opts))
}

// Test runs the suite under go test, one subtest per capability (named after
// the capability, e.g. "secrets.tamper_detect"). A fail is reported with
// t.Error and its evidence; unsupported and skipped capabilities call t.Skip
// with the reason; a pass logs its note. It returns the results of the
// subtests that ran, so a caller can also assert an expected matrix.
func Test(t *testing.T, open Opener, opts *Options) []conformance.Result {
	t.Helper()
	return harness.Test(t, suite(open, opts))
}

// env is what a check works with.
type env struct {
	ctx context.Context
	k   *gcsecrets.Keeper
	o   *Options
	// second is Options.Second's keeper, opened on first use.
	second    *gcsecrets.Keeper
	secondErr error
	opened    bool
}

// secondKeeper opens Options.Second once per check; nil, nil when unset.
func (e *env) secondKeeper() (*gcsecrets.Keeper, error) {
	if e.o.Second == nil {
		return nil, nil
	}
	if !e.opened {
		e.opened = true
		e.second, e.secondErr = e.o.Second(e.ctx)
		if e.secondErr == nil && e.second == nil {
			e.secondErr = errors.New("Options.Second returned a nil keeper and no error")
		}
	}
	return e.second, e.secondErr
}

type checkFunc func(e *env) verdict.Outcome

// runCheck opens a keeper, runs one check and closes every keeper it
// opened, turning panics (from the check, the Opener or the driver) into a
// fail.
func runCheck(ctx context.Context, open Opener, o *Options, capName string) (out verdict.Outcome) {
	if open == nil {
		return verdict.Fail("secretstest: the Opener is nil")
	}
	var e *env
	phase := "the Opener"
	defer func() {
		if p := recover(); p != nil {
			out = verdict.Fail("%s panicked: %v", phase, p)
		}
		if e == nil {
			return
		}
		for _, k := range []*gcsecrets.Keeper{e.k, e.second} {
			if k == nil {
				continue
			}
			harness.Guard(o.Logf, capName, "closing a keeper", func() {
				if err := k.Close(); err != nil {
					o.Logf("%s: closing a keeper: %v", capName, err)
				}
			})
		}
	}()
	k, err := open(ctx)
	if err != nil {
		return verdict.Fail("opening the keeper: %s", errText(err))
	}
	if k == nil {
		return verdict.Fail("the Opener returned a nil keeper and no error")
	}
	e = &env{ctx: ctx, k: k, o: o}
	phase = "the check"
	return checks[capName](e)
}

// encryptFailed is the outcome of a first Encrypt that failed: unsupported
// when the keeper says it cannot encrypt, else a fail.
func encryptFailed(what string, err error) verdict.Outcome {
	if gcerrors.Code(err) == gcerrors.Unimplemented {
		return verdict.Unsupported("the keeper cannot encrypt (Unimplemented): %s", errText(err))
	}
	return verdict.Fail("Encrypt of %s failed: %s", what, errText(err))
}

// maxEvidence is how many pieces of evidence a fail lists before it counts the rest.
const maxEvidence = 20

// errText is err's message on one line, shortened for a report line.
func errText(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	const max = 400
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
