package secretstest

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/verdict"
	"github.com/civicport/civicport/secrets/envelope"
)

var checks = map[string]checkFunc{
	conformance.SecretsRoundtrip:      checkRoundtrip,
	conformance.SecretsTamperDetect:   checkTamperDetect,
	conformance.SecretsLargePlaintext: checkLargePlaintext,
	conformance.SecretsKeyRotation:    checkKeyRotation,
}

// Sizes secrets.roundtrip requires, and those it probes.
var (
	requiredSizes = []int{1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256, 1000, 1024}
	probeSizes    = []int{4 << 10, 4<<10 + 1, 64 << 10, 64<<10 + 1, 1 << 20}
)

// Concurrency of secrets.roundtrip.
const (
	concurrentWorkers = 8
	concurrentEach    = 4
)

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// describeDiff says how got differs from want.
func describeDiff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("%d bytes, first difference at byte %d (got %#02x, want %#02x)", len(got), i, got[i], want[i])
		}
	}
	return "equal"
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n > 1<<10 && (n-1)%(1<<10) == 0:
		return fmt.Sprintf("%d KiB + 1", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// roundTrip encrypts pt and decrypts it, returning the ciphertext and what
// went wrong ("" when nothing did). encErr is the Encrypt error, if that is
// what failed.
func roundTrip(ctx context.Context, k *gcsecrets.Keeper, what string, pt []byte) (ct []byte, problem string, encErr error) {
	ct, err := k.Encrypt(ctx, pt)
	if err != nil {
		return nil, fmt.Sprintf("%s: Encrypt: %s", what, errText(err)), err
	}
	switch {
	case len(pt) > 0 && bytes.Equal(ct, pt):
		return ct, fmt.Sprintf("%s: the ciphertext equals the plaintext (no encryption)", what), nil
	case len(pt) >= 16 && bytes.Contains(ct, pt):
		return ct, fmt.Sprintf("%s: the ciphertext (%d bytes) contains the plaintext in clear", what, len(ct)), nil
	}
	got, err := k.Decrypt(ctx, ct)
	if err != nil {
		return ct, fmt.Sprintf("%s: Decrypt of its own ciphertext: %s", what, errText(err)), nil
	}
	if !bytes.Equal(got, pt) {
		return ct, fmt.Sprintf("%s: decrypted plaintext differs: %s", what, describeDiff(got, pt)), nil
	}
	return ct, "", nil
}

func checkRoundtrip(e *env) verdict.Outcome {
	var p verdict.Problems
	var notes []string

	// A data key first: what envelopes give a keeper.
	dk := random(32)
	ct32, prob, err := roundTrip(e.ctx, e.k, "32 B", dk)
	if err != nil {
		return encryptFailed("a 32-byte plaintext (a data key)", err)
	}
	if prob != "" {
		p.Add("%s", prob)
	}
	for _, n := range requiredSizes {
		if n == 32 {
			continue
		}
		if e.ctx.Err() != nil {
			p.Add("stopped before %s: %v", sizeName(n), e.ctx.Err())
			return p.Fail(maxEvidence)
		}
		if _, prob, _ := roundTrip(e.ctx, e.k, sizeName(n), random(n)); prob != "" {
			p.Add("%s", prob)
		}
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, prob, _ := roundTrip(e.ctx, e.k, "the 256 byte values", all); prob != "" {
		p.Add("%s", prob)
	}

	// Concurrently: a Keeper is safe for concurrent use.
	var (
		mu   sync.Mutex
		bad  int
		last string
		wg   sync.WaitGroup
	)
	for w := range concurrentWorkers {
		wg.Go(func() {
			for i := range concurrentEach {
				if e.ctx.Err() != nil {
					return
				}
				if _, prob, _ := roundTrip(e.ctx, e.k, fmt.Sprintf("concurrent %d.%d", w, i), random(32)); prob != "" {
					mu.Lock()
					bad++
					last = prob
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if bad > 0 {
		p.Add("%d of %d concurrent round-trips failed (e.g. %s)", bad, concurrentWorkers*concurrentEach, last)
	}

	// Randomised or deterministic?
	if ct32 != nil {
		again, err := e.k.Encrypt(e.ctx, dk)
		switch {
		case err != nil:
			p.Add("32 B, encrypted a second time: Encrypt: %s", errText(err))
		case bytes.Equal(again, ct32):
			notes = append(notes, "NOTE deterministic: two encryptions of one plaintext gave the same ciphertext, which shows which plaintexts are equal (harmless for envelopes, whose data keys are random; do not encrypt records directly)")
		}
		notes = append(notes, fmt.Sprintf("a 32-byte data key encrypts to %d bytes", len(ct32)))
	}

	// Empty plaintext: probed.
	if e.ctx.Err() == nil {
		_, prob, encErr := roundTrip(e.ctx, e.k, "empty plaintext", nil)
		switch {
		case encErr != nil:
			notes = append(notes, "an empty plaintext is refused at Encrypt ("+errText(encErr)+")")
		case prob != "":
			p.Add("%s (Encrypt accepted it)", prob)
		default:
			notes = append(notes, "an empty plaintext round-trips")
		}
	}

	// Larger plaintexts: probed until the first refusal.
	largest := requiredSizes[len(requiredSizes)-1]
	refused := ""
	for _, n := range probeSizes {
		if e.ctx.Err() != nil {
			break
		}
		_, prob, encErr := roundTrip(e.ctx, e.k, sizeName(n), random(n))
		if encErr != nil {
			refused = fmt.Sprintf("; %s refused at Encrypt (%s)", sizeName(n), errText(encErr))
			break
		}
		if prob != "" {
			p.Add("%s (Encrypt accepted it)", prob)
			break
		}
		largest = n
	}
	notes = append(notes, fmt.Sprintf("largest plaintext tried that round-trips: %s%s", sizeName(largest), refused))

	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("1 B to 1 KiB, every byte value and %d concurrent round-trips ok; %s",
		concurrentWorkers*concurrentEach, strings.Join(notes, "; "))
}

// tamperCase is one changed ciphertext given to Decrypt.
type tamperCase struct {
	name string
	ct   []byte
}

// flipPositions are the bytes of an n-byte ciphertext whose bits are
// flipped: all of them up to 64, else 64 spread evenly, first and last
// included.
func flipPositions(n int) []int {
	const most = 64
	if n <= most {
		pos := make([]int, n)
		for i := range pos {
			pos[i] = i
		}
		return pos
	}
	pos := make([]int, 0, most)
	for i := range most {
		pos = append(pos, i*(n-1)/(most-1))
	}
	return slices.Compact(pos)
}

func checkTamperDetect(e *env) verdict.Outcome {
	pt := random(48)
	ct, err := e.k.Encrypt(e.ctx, pt)
	if err != nil {
		return encryptFailed("a 48-byte plaintext", err)
	}
	// The untouched ciphertext must decrypt, or refusing the changed ones
	// proves nothing.
	if got, err := e.k.Decrypt(e.ctx, ct); err != nil {
		return verdict.Fail("the untouched ciphertext does not decrypt, so refusals prove nothing: %s", errText(err))
	} else if !bytes.Equal(got, pt) {
		return verdict.Fail("the untouched ciphertext decrypts to a different plaintext: %s", describeDiff(got, pt))
	}

	var cases []tamperCase
	for _, i := range flipPositions(len(ct)) {
		c := bytes.Clone(ct)
		c[i] ^= 1 << (i % 8)
		cases = append(cases, tamperCase{fmt.Sprintf("bit %d of byte %d flipped", i%8, i), c})
	}
	for _, n := range []int{len(ct) - 1, len(ct) - 16, len(ct) / 2, 1, 0} {
		if n >= 0 && n < len(ct) {
			cases = append(cases, tamperCase{fmt.Sprintf("truncated to %d of %d bytes", n, len(ct)), bytes.Clone(ct[:n])})
		}
	}
	cases = append(cases,
		tamperCase{"extended by one byte", append(bytes.Clone(ct), 0)},
		tamperCase{fmt.Sprintf("%d random bytes", len(ct)), random(len(ct))},
	)
	other := newLocalKeeper()
	defer other.Close()
	if oc, err := other.Encrypt(e.ctx, pt); err == nil {
		cases = append(cases, tamperCase{"the same plaintext encrypted by a random local key", oc})
	} else {
		return verdict.Fail("encrypting with the suite's local key: %s", errText(err))
	}
	if s, err := e.secondKeeper(); err != nil {
		return verdict.Fail("opening Options.Second: %s", errText(err))
	} else if s != nil {
		sc, err := s.Encrypt(e.ctx, pt)
		if err != nil {
			return verdict.Fail("Encrypt with Options.Second's keeper: %s", errText(err))
		}
		cases = append(cases, tamperCase{"the same plaintext encrypted by Options.Second's key", sc})
	}

	var (
		p        verdict.Problems
		refused  int
		accepted []string // the original plaintext, from a case that is not a bit flip
		flipsOK  []string // the original plaintext, from a bit flip
		flipsBad []string // another plaintext, from a bit flip
		firstBad string
		flips    int
	)
	for i, c := range cases {
		if e.ctx.Err() != nil {
			p.Add("stopped after %d of %d changed ciphertexts (%d refused): %v", i, len(cases), refused, e.ctx.Err())
			break
		}
		flip := strings.HasPrefix(c.name, "bit ")
		if flip {
			flips++
		}
		got, err := e.k.Decrypt(e.ctx, c.ct)
		switch {
		case err != nil:
			refused++
		case bytes.Equal(got, pt) && flip:
			flipsOK = append(flipsOK, c.name)
		case bytes.Equal(got, pt):
			accepted = append(accepted, c.name)
		case flip:
			if firstBad == "" {
				firstBad = fmt.Sprintf("%s: %s", c.name, describeDiff(got, pt))
			}
			flipsBad = append(flipsBad, c.name)
		default:
			p.Add("%s: Decrypt returned a different plaintext and no error (%s)", c.name, describeDiff(got, pt))
		}
	}
	if len(flipsBad) > 0 {
		p = append(verdict.Problems{fmt.Sprintf("%d of %d bit flips decrypted to a different plaintext and no error (first: %s; %s)",
			len(flipsBad), flips, firstBad, listN(flipsBad, 5))}, p...)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	note := fmt.Sprintf("%d of %d changed ciphertexts refused (%d-byte ciphertext)", refused, len(cases), len(ct))
	if len(flipsOK) > 0 {
		note += fmt.Sprintf("; NOTE %d bit flips still decrypted to the original plaintext (bytes not authenticated): %s", len(flipsOK), listN(flipsOK, 5))
	}
	if len(accepted) > 0 {
		note += "; NOTE decrypted to the original plaintext: " + strings.Join(accepted, ", ")
	}
	return verdict.Pass("%s", note)
}

// listN lists up to n items and says how many more there are.
func listN(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("%s ... (and %d more)", strings.Join(xs[:n], ", "), len(xs)-n)
}

// keeperID is the KEK id the suite gives the keeper under test in envelopes.
const keeperID = "secretstest/keeper"

// streamBuf is the write size of secrets.large_plaintext.
const streamBuf = 256 << 10

func checkLargePlaintext(e *env) verdict.Outcome {
	n := e.o.LargePlaintextSize
	kek := []envelope.KEK{{ID: keeperID, Keeper: e.k}}
	pr, pw := io.Pipe()
	type encResult struct {
		sum [32]byte
		err error
	}
	encDone := make(chan encResult, 1)
	start := time.Now()
	go func() {
		var r encResult
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("encrypting panicked: %v", p)
			}
			pw.CloseWithError(r.err) // nil: io.EOF for the reader
			encDone <- r
		}()
		w, err := envelope.NewEncrypter(e.ctx, pw, kek, nil)
		if err != nil {
			r.err = fmt.Errorf("NewEncrypter: %w", err)
			return
		}
		var seed [32]byte
		_, _ = rand.Read(seed[:])
		src := mrand.NewChaCha8(seed)
		h := sha256.New()
		buf := make([]byte, streamBuf)
		for left := n; left > 0; {
			if err := e.ctx.Err(); err != nil {
				r.err = fmt.Errorf("after %d of %d bytes: %w", n-left, n, err)
				return
			}
			b := buf[:min(int64(len(buf)), left)]
			_, _ = src.Read(b)
			h.Write(b)
			if _, err := w.Write(b); err != nil {
				r.err = fmt.Errorf("writing at byte %d: %w", n-left, err)
				return
			}
			left -= int64(len(b))
		}
		if err := w.Close(); err != nil {
			r.err = fmt.Errorf("closing the encrypter: %w", err)
			return
		}
		h.Sum(r.sum[:0])
	}()

	cr := &countingReader{r: pr}
	var (
		got     int64
		gotSum  [32]byte
		decErr  error
		hdrSize int64
	)
	d, err := envelope.NewDecrypter(e.ctx, cr, kek)
	if err != nil {
		decErr = fmt.Errorf("NewDecrypter: %w", err)
	} else {
		hdrSize = d.Header().Size()
		h := sha256.New()
		got, err = io.CopyBuffer(h, d, make([]byte, streamBuf))
		if err != nil {
			decErr = fmt.Errorf("reading plaintext at byte %d: %w", got, err)
		}
		h.Sum(gotSum[:0])
	}
	pr.CloseWithError(errReaderDone) // unblocks the encrypter
	enc := <-encDone
	elapsed := time.Since(start)
	switch {
	case enc.err != nil && gcerrors.Code(enc.err) == gcerrors.Unimplemented:
		return verdict.Unsupported("the keeper cannot wrap a data key (Unimplemented): %s", errText(enc.err))
	case enc.err != nil && !errors.Is(enc.err, errReaderDone):
		return verdict.Fail("encrypting %s through an envelope: %s", sizeName64(n), errText(enc.err))
	case decErr != nil:
		return verdict.Fail("decrypting %s through an envelope: %s", sizeName64(n), errText(decErr))
	case got != n:
		return verdict.Fail("decrypted %d bytes, want %d", got, n)
	case gotSum != enc.sum:
		return verdict.Fail("the SHA-256 of the %s decrypted (%x) differs from what was encrypted (%x)", sizeName64(n), gotSum[:8], enc.sum[:8])
	}
	return verdict.Pass("%s streamed through an envelope in %v (%.0f MiB/s), %d ciphertext bytes, %d-byte header; SHA-256 matched",
		sizeName64(n), elapsed.Round(time.Millisecond), float64(n)/(1<<20)/elapsed.Seconds(), cr.n, hdrSize)
}

// errReaderDone is what the encrypter of secrets.large_plaintext sees when
// the decrypting side stopped reading (after its own error).
var errReaderDone = errors.New("secretstest: the decrypting side stopped reading")

func sizeName64(n int64) string {
	if n > 1<<30 {
		return fmt.Sprintf("%d bytes", n)
	}
	return sizeName(int(n))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rotationPlaintext and rotationChunk make the envelope of
// secrets.key_rotation several chunks long.
const (
	rotationPlaintext = 100 << 10
	rotationChunk     = 16 << 10
)

// sealed is an envelope split into header and body.
type sealed struct {
	h    *envelope.Header
	body []byte
}

func seal(ctx context.Context, pt []byte, keks []envelope.KEK) (sealed, error) {
	var buf bytes.Buffer
	w, err := envelope.NewEncrypter(ctx, &buf, keks, &envelope.Options{ChunkSize: rotationChunk})
	if err != nil {
		return sealed{}, err
	}
	if _, err := w.Write(pt); err != nil {
		return sealed{}, err
	}
	if err := w.Close(); err != nil {
		return sealed{}, err
	}
	r := bytes.NewReader(buf.Bytes())
	h, err := envelope.ReadHeader(r)
	if err != nil {
		return sealed{}, err
	}
	return sealed{h: h, body: buf.Bytes()[h.Size():]}, nil
}

// open decrypts s with keks and says what went wrong ("" when it
// decrypted to pt), with the error.
func (s sealed) open(ctx context.Context, keks []envelope.KEK, pt []byte) (string, error) {
	hb, err := s.h.MarshalBinary()
	if err != nil {
		return "marshalling the header: " + errText(err), err
	}
	d, err := envelope.NewDecrypter(ctx, io.MultiReader(bytes.NewReader(hb), bytes.NewReader(s.body)), keks)
	if err != nil {
		return errText(err), err
	}
	got, err := io.ReadAll(d)
	if err != nil {
		return "reading: " + errText(err), err
	}
	if !bytes.Equal(got, pt) {
		return "decrypted to a different plaintext: " + describeDiff(got, pt), nil
	}
	return "", nil
}

// refused checks that keks cannot open s: "" when refused with
// envelope.ErrWrongKey, else the evidence.
func (s sealed) refused(ctx context.Context, keks []envelope.KEK, pt []byte) string {
	prob, err := s.open(ctx, keks, pt)
	switch {
	case prob == "":
		return "still decrypts it"
	case errors.Is(err, envelope.ErrWrongKey):
		return ""
	}
	return "is refused, but not with ErrWrongKey: " + prob
}

func checkKeyRotation(e *env) verdict.Outcome {
	ctx := e.ctx
	pt := random(rotationPlaintext)
	keeper := envelope.KEK{ID: keeperID, Keeper: e.k}
	a := envelope.KEK{ID: "secretstest/local-a", Keeper: newLocalKeeper()}
	defer a.Keeper.Close()
	b := envelope.KEK{ID: "secretstest/local-b", Keeper: newLocalKeeper()}
	defer b.Keeper.Close()
	var notes []string

	// An envelope under local key A, rotated onto the keeper.
	env, err := seal(ctx, pt, []envelope.KEK{a})
	if err != nil {
		return verdict.Fail("sealing under the suite's local key: %s", errText(err))
	}
	h, err := envelope.Rewrap(ctx, env.h, []envelope.KEK{a}, []envelope.KEK{keeper}, []string{a.ID})
	if err != nil {
		if gcerrors.Code(err) == gcerrors.Unimplemented {
			return verdict.Unsupported("the keeper cannot wrap a data key (Unimplemented): %s", errText(err))
		}
		return verdict.Fail("rewrapping onto the keeper (the keeper wraps the data key): %s", errText(err))
	}
	onto := sealed{h: h, body: env.body}
	if ids := h.KEKIDs(); !slices.Equal(ids, []string{keeperID}) {
		return verdict.Fail("after rewrapping onto the keeper the header names %q, want only %q", ids, keeperID)
	}
	if prob, _ := onto.open(ctx, []envelope.KEK{keeper}, pt); prob != "" {
		return verdict.Fail("rotated onto the keeper, the envelope does not decrypt with the keeper alone: %s", prob)
	}
	if prob := onto.refused(ctx, []envelope.KEK{a}, pt); prob != "" {
		return verdict.Fail("rotated onto the keeper, the dropped local key %s", prob)
	}

	// With a second key on the same backend: keeper -> second.
	second, err := e.secondKeeper()
	if err != nil {
		return verdict.Fail("opening Options.Second: %s", errText(err))
	}
	if second != nil {
		s := envelope.KEK{ID: "secretstest/second", Keeper: second}
		h2, err := envelope.Rewrap(ctx, onto.h, []envelope.KEK{keeper}, []envelope.KEK{s}, []string{keeperID})
		if err != nil {
			return verdict.Fail("rewrapping from the keeper to Options.Second's key: %s", errText(err))
		}
		moved := sealed{h: h2, body: env.body}
		if prob, _ := moved.open(ctx, []envelope.KEK{s}, pt); prob != "" {
			return verdict.Fail("rotated to Options.Second's key, the envelope does not decrypt with it alone: %s", prob)
		}
		if prob := moved.refused(ctx, []envelope.KEK{keeper}, pt); prob != "" {
			return verdict.Fail("rotated to Options.Second's key, the dropped keeper %s", prob)
		}
		// The old key's keeper given the new key's wrapped data key.
		prob, err := moved.open(ctx, []envelope.KEK{{ID: s.ID, Keeper: e.k}}, pt)
		switch {
		case prob == "":
			notes = append(notes, "NOTE the old key's keeper decrypts data keys wrapped under the new key (the backend finds the key from the ciphertext; only access policy separates keys)")
		case errors.Is(err, envelope.ErrTampered):
			return verdict.Fail("the old key's keeper, given the data key wrapped under Options.Second's key, returned a different key without an error: %s", prob)
		}
		notes = append(notes, "rotated to Options.Second's key")
	}

	// Provider-side rotation.
	if e.o.Rotate != nil {
		small := random(32)
		before, err := e.k.Encrypt(ctx, small)
		if err != nil {
			return verdict.Fail("Encrypt before the provider rotation: %s", errText(err))
		}
		if err := e.o.Rotate(ctx, e.k); err != nil {
			return verdict.Fail("Options.Rotate: %s", errText(err))
		}
		if got, err := e.k.Decrypt(ctx, before); err != nil {
			return verdict.Fail("after the provider rotation, a ciphertext made before it no longer decrypts: %s", errText(err))
		} else if !bytes.Equal(got, small) {
			return verdict.Fail("after the provider rotation, a ciphertext made before it decrypts to a different plaintext: %s", describeDiff(got, small))
		}
		if prob, _ := onto.open(ctx, []envelope.KEK{keeper}, pt); prob != "" {
			return verdict.Fail("after the provider rotation, an envelope wrapped before it no longer decrypts: %s", prob)
		}
		if _, prob, _ := roundTrip(ctx, e.k, "after the provider rotation, 32 B", random(32)); prob != "" {
			return verdict.Fail("%s", prob)
		}
		notes = append(notes, "provider rotation (Options.Rotate): old ciphertexts and envelopes still decrypt")
	} else {
		notes = append(notes, "provider-side rotation not measured (no Options.Rotate)")
	}

	// Off the keeper, onto local key B (the keeper unwraps).
	h3, err := envelope.Rewrap(ctx, onto.h, []envelope.KEK{keeper}, []envelope.KEK{b}, []string{keeperID})
	if err != nil {
		return verdict.Fail("rewrapping off the keeper (the keeper unwraps the data key): %s", errText(err))
	}
	off := sealed{h: h3, body: env.body}
	if prob, _ := off.open(ctx, []envelope.KEK{b}, pt); prob != "" {
		return verdict.Fail("rotated off the keeper, the envelope does not decrypt with the new local key: %s", prob)
	}
	if prob := off.refused(ctx, []envelope.KEK{keeper}, pt); prob != "" {
		return verdict.Fail("rotated off the keeper, the dropped keeper %s", prob)
	}
	return verdict.Pass("a %s envelope rewrapped onto the keeper and off it again, body untouched; only the named key decrypted after each step; %s",
		sizeName(rotationPlaintext), strings.Join(notes, "; "))
}

// newLocalKeeper is an in-process keeper on a random AES-256 key
// (AES-256-GCM, random nonces: FIPS 140-3 approved), the "other key" of
// secrets.tamper_detect and secrets.key_rotation.
func newLocalKeeper() *gcsecrets.Keeper { return gcsecrets.NewKeeper(newLocalKeeperDriver()) }

func newLocalKeeperDriver() localKeeper {
	block, err := aes.NewCipher(random(32))
	if err != nil {
		panic(err) // 32 bytes: cannot fail
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(err)
	}
	return localKeeper{aead}
}

type localKeeper struct{ aead cipher.AEAD }

var errLocalDecrypt = errors.New("secretstest local key: message authentication failed")

func (k localKeeper) Encrypt(_ context.Context, pt []byte) ([]byte, error) {
	return k.aead.Seal(nil, nil, pt, nil), nil
}

func (k localKeeper) Decrypt(_ context.Context, ct []byte) ([]byte, error) {
	pt, err := k.aead.Open(nil, nil, ct, nil)
	if err != nil {
		return nil, errLocalDecrypt
	}
	return pt, nil
}

func (localKeeper) Close() error                       { return nil }
func (localKeeper) ErrorAs(error, any) bool            { return false }
func (localKeeper) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.InvalidArgument }

var _ driver.Keeper = localKeeper{}
