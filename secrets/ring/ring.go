// Package ring is a gocloud.dev secrets keeper over several keepers on
// different providers, so that what it encrypts stays decryptable while any
// one of them is reachable: an outage, a closed account or a revoked key at
// one provider loses nothing.
//
// A ring is a plain *secrets.Keeper, usable wherever one is (as an envelope
// KEK, by blob/seal, by the CLI). civicport/secrets opens one by URL,
// ring://?keeper=URL1&keeper=URL2; this package holds only the keeper and
// imports no provider.
package ring

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"github.com/civicport/civicport/secrets/envelope"
)

// Ring ciphertext layout (all integers unsigned varints):
//
//	"cpring" 0x01 count { len(id) id len(wrapped) wrapped } * count
//
// Each entry is the plaintext encrypted by the ring member with that id; the
// ids are stored in clear.
var ringMagic = []byte("cpring\x01")

const (
	maxRingMembers = 64
	maxRingIDLen   = 1024
	maxRingWrapped = 1 << 20
)

// Options configure New. A nil *Options means the defaults.
type Options struct {
	// CloseMembers makes closing the ring close every member's keeper. By
	// default the caller owns them and closing the ring closes nothing.
	CloseMembers bool
}

// New returns a keeper over several KEKs, typically on different providers.
// Encrypt encrypts the plaintext under every member (failing if any member
// fails) and returns one self-describing blob listing (id, ciphertext)
// pairs; Decrypt tries the members in the ring's order and succeeds with the
// first one that can decrypt its entry, so a ring keeps working while any
// one member is reachable. Use DecryptWith to learn which member it was.
// When no member can, the members whose ids match no entry are tried on the
// entries whose ids match no member, so that a key given a new id (its URL
// written differently years later) still decrypts what it encrypted.
//
// The ids are stored in clear in every ciphertext and must be non-empty,
// at most 1024 bytes, distinct and free of credentials; New fails naming
// the first member that is not, or when there are no members or more than
// 64.
func New(keks []envelope.KEK, opts *Options) (*gcsecrets.Keeper, error) {
	if err := check(keks); err != nil {
		return nil, err
	}
	r := &ring{keks: slices.Clone(keks), owns: opts != nil && opts.CloseMembers}
	return gcsecrets.NewKeeper(r), nil
}

func check(keks []envelope.KEK) error {
	switch {
	case len(keks) == 0:
		return errors.New("ring: no members")
	case len(keks) > maxRingMembers:
		return fmt.Errorf("ring: %d members; at most %d", len(keks), maxRingMembers)
	}
	seen := map[string]bool{}
	for i, k := range keks {
		switch {
		case k.ID == "" || len(k.ID) > maxRingIDLen:
			return fmt.Errorf("ring: member %d id %q must be 1 to %d bytes", i+1, k.ID, maxRingIDLen)
		case k.Keeper == nil:
			return fmt.Errorf("ring: member %q has no keeper", k.ID)
		case seen[k.ID]:
			return fmt.Errorf("ring: member id %q given twice", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

type ring struct {
	keks []envelope.KEK
	owns bool
}

var _ driver.Keeper = (*ring)(nil)

// usedKey is the context key under which DecryptWith asks a ring to report
// the member that decrypted.
type usedKey struct{}

// DecryptWith decrypts ciphertext with keeper and, when keeper is a ring
// (New, or a ring:// URL opened by civicport/secrets), also returns the id of the member that
// decrypted it; for any other keeper usedID is "". When rings are nested,
// usedID names the member of the outermost ring.
func DecryptWith(ctx context.Context, keeper *gcsecrets.Keeper, ciphertext []byte) (plaintext []byte, usedID string, err error) {
	var used string
	pt, err := keeper.Decrypt(context.WithValue(ctx, usedKey{}, &used), ciphertext)
	if err != nil {
		return nil, "", err
	}
	return pt, used, nil
}

func (r *ring) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	out := make([][]byte, len(r.keks))
	errs := make([]error, len(r.keks))
	var wg sync.WaitGroup
	for i, k := range r.keks {
		wg.Go(func() { out[i], errs[i] = k.Keeper.Encrypt(ctx, plaintext) })
	}
	wg.Wait()
	var failed []string
	var causes []memberError
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%q: %s", r.keks[i].ID, memberMsg(err)))
			causes = append(causes, memberError{i, err})
		} else if len(out[i]) > maxRingWrapped {
			err := fmt.Errorf("ciphertext of %d bytes, more than a ring entry holds (%d)", len(out[i]), maxRingWrapped)
			failed = append(failed, fmt.Sprintf("%q: %v", r.keks[i].ID, err))
			causes = append(causes, memberError{i, err})
		}
	}
	if len(failed) > 0 {
		return nil, &ringError{code: commonCode(causes), msg: "ring encrypt failed for " + strings.Join(failed, "; "), causes: causes}
	}
	b := append([]byte(nil), ringMagic...)
	b = binary.AppendUvarint(b, uint64(len(r.keks)))
	for i, k := range r.keks {
		b = binary.AppendUvarint(b, uint64(len(k.ID)))
		b = append(b, k.ID...)
		b = binary.AppendUvarint(b, uint64(len(out[i])))
		b = append(b, out[i]...)
	}
	return b, nil
}

func (r *ring) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	entries, err := parseRing(ciphertext)
	if err != nil {
		return nil, &ringError{code: gcerrors.InvalidArgument, msg: "not a ring ciphertext: " + err.Error()}
	}
	var failed []string
	var causes []memberError
	var unmatched []envelope.KEK // members with no entry of their id
	for i, k := range r.keks {
		w, ok := entries[k.ID]
		if !ok {
			unmatched = append(unmatched, k)
			continue
		}
		pt, err := k.Keeper.Decrypt(ctx, w)
		if err == nil {
			reportUsed(ctx, k.ID)
			return pt, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		failed = append(failed, fmt.Sprintf("%q: %s", k.ID, memberMsg(err)))
		causes = append(causes, memberError{i, err})
	}
	// An id is a member's URL as it was at encryption; one written
	// differently now (another endpoint, a moved PKCS#11 module) is the
	// same key under another id. So before giving up, try each member that
	// matched no entry on each entry that matched no member.
	var orphans []string // entries of no member's id
	if len(unmatched) > 0 {
		members := r.ids()
		for _, id := range sortedIDs(entries) {
			if !slices.Contains(members, id) {
				orphans = append(orphans, id)
			}
		}
	}
	for _, k := range unmatched {
		for _, id := range orphans {
			pt, err := k.Keeper.Decrypt(ctx, entries[id])
			if err == nil {
				reportUsed(ctx, k.ID)
				return pt, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	if len(failed) == 0 {
		return nil, &ringError{code: gcerrors.InvalidArgument,
			msg: fmt.Sprintf("ring ciphertext is for members %q; this ring has %q (none of which decrypts it)", sortedIDs(entries), r.ids())}
	}
	return nil, &ringError{code: commonCode(causes), msg: "no ring member could decrypt: " + strings.Join(failed, "; "), causes: causes}
}

func reportUsed(ctx context.Context, id string) {
	if p, ok := ctx.Value(usedKey{}).(*string); ok {
		*p = id
	}
}

func sortedIDs(entries map[string][]byte) []string {
	ids := make([]string, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (r *ring) ids() []string {
	ids := make([]string, len(r.keks))
	for i, k := range r.keks {
		ids[i] = k.ID
	}
	return ids
}

func (r *ring) Close() error {
	if !r.owns {
		return nil
	}
	var errs []error
	for _, k := range r.keks {
		if err := k.Keeper.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing ring member %q: %w", k.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (r *ring) ErrorAs(err error, i any) bool {
	var re *ringError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range re.causes {
		if r.keks[c.member].Keeper.ErrorAs(c.err, i) {
			return true
		}
	}
	return false
}

func (r *ring) ErrorCode(err error) gcerrors.ErrorCode {
	var re *ringError
	if errors.As(err, &re) {
		return re.code
	}
	if errors.Is(err, context.Canceled) {
		return gcerrors.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return gcerrors.DeadlineExceeded
	}
	return gcerrors.Unknown
}

// memberError is what ring member number member said.
type memberError struct {
	member int
	err    error
}

// ringError is an error of the ring itself, or every member's failure.
type ringError struct {
	code   gcerrors.ErrorCode
	msg    string
	causes []memberError
}

func (e *ringError) Error() string { return e.msg }

func (e *ringError) Unwrap() []error {
	errs := make([]error, len(e.causes))
	for i, c := range e.causes {
		errs[i] = c.err
	}
	return errs
}

// memberMsg is a member keeper's error message without gocloud's
// "secrets (code=...)" prefix, which the ring's own error will carry.
func memberMsg(err error) string {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) > 0 && errs[0] != nil {
			return errs[0].Error()
		}
	}
	return err.Error()
}

// commonCode is the members' error code if they all agree, else Unknown.
func commonCode(causes []memberError) gcerrors.ErrorCode {
	code := gcerrors.Unknown
	for i, c := range causes {
		cc := gcerrors.Code(c.err)
		if i > 0 && cc != code {
			return gcerrors.Unknown
		}
		code = cc
	}
	return code
}

func parseRing(b []byte) (map[string][]byte, error) {
	if !bytes.HasPrefix(b, ringMagic) {
		return nil, errors.New("missing ring header")
	}
	p := b[len(ringMagic):]
	next := func(max uint64, what string) ([]byte, error) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n == 0 || n > max || n > uint64(len(p)-k) {
			return nil, fmt.Errorf("bad %s length", what)
		}
		v := p[k : k+int(n)]
		p = p[k+int(n):]
		return v, nil
	}
	count, k := binary.Uvarint(p)
	if k <= 0 || count == 0 || count > maxRingMembers {
		return nil, errors.New("bad member count")
	}
	p = p[k:]
	entries := make(map[string][]byte, count)
	for range count {
		id, err := next(maxRingIDLen, "id")
		if err != nil {
			return nil, err
		}
		w, err := next(maxRingWrapped, "entry")
		if err != nil {
			return nil, err
		}
		if _, dup := entries[string(id)]; dup {
			return nil, fmt.Errorf("member %q listed twice", id)
		}
		entries[string(id)] = w
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(p))
	}
	return entries, nil
}
