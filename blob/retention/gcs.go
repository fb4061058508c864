package retention

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
)

// gcsBackend is GCS object retention and temporary holds through gocloud's
// gcsblob. Governance is an "Unlocked" object retention (changed or removed
// only with OverrideUnlockedRetention), Compliance a "Locked" one; the legal
// hold is the object's temporary hold.
type gcsBackend struct {
	b *blob.Bucket
	c *storage.Client
}

func (g *gcsBackend) name() string { return "gcsblob" }

const (
	gcsUnlocked = "Unlocked"
	gcsLocked   = "Locked"
)

// handle returns the *storage.ObjectHandle gcsblob would read key with
// (escaped, with any prefix), for version if given. BeforeRead returns
// errTarget, so nothing is sent.
func (g *gcsBackend) handle(ctx context.Context, key, version string) (*storage.ObjectHandle, error) {
	var h *storage.ObjectHandle
	_, err := g.b.NewRangeReader(ctx, key, 0, 0, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		var p **storage.ObjectHandle
		if !as(&p) || p == nil || *p == nil {
			return errors.New("gcsblob did not expose its *storage.ObjectHandle")
		}
		h = *p
		return errTarget
	}})
	if !errors.Is(err, errTarget) {
		if err == nil {
			err = errors.New("gcsblob read without calling BeforeRead")
		}
		return nil, err
	}
	// A fresh handle: the one gcsblob built may carry read-only settings.
	h = g.c.Bucket(h.BucketName()).Object(h.ObjectName())
	if version != "" {
		gen, err := strconv.ParseInt(version, 10, 64)
		if err != nil || gen <= 0 {
			return nil, &invalidArgError{fmt.Sprintf("version %q is not a GCS generation (a positive decimal number)", version)}
		}
		h = h.Generation(gen)
	}
	return h, nil
}

func (g *gcsBackend) supported(ctx context.Context, holdOnly bool) error {
	h, err := g.handle(ctx, "retention-probe", "")
	if err != nil {
		return err
	}
	if holdOnly {
		return nil // every GCS bucket has object holds
	}
	attrs, err := g.c.Bucket(h.BucketName()).Attrs(ctx)
	if err != nil {
		return err
	}
	if attrs.ObjectRetentionMode != "Enabled" {
		return fmt.Errorf("%w: bucket %q reports object retention mode %q, want \"Enabled\" (set when the bucket is created)", ErrNotEnabled, h.BucketName(), attrs.ObjectRetentionMode)
	}
	return nil
}

func (g *gcsBackend) setRetention(ctx context.Context, key, version string, r Retention, bypass bool) error {
	h, err := g.handle(ctx, key, version)
	if err != nil {
		return err
	}
	mode := gcsUnlocked
	if r.Mode == Compliance {
		mode = gcsLocked
	}
	_, err = h.OverrideUnlockedRetention(bypass).Update(ctx, storage.ObjectAttrsToUpdate{
		Retention: &storage.ObjectRetention{Mode: mode, RetainUntil: r.Until},
	})
	return notEnabled(err, "bucket "+h.BucketName())
}

func (g *gcsBackend) attrs(ctx context.Context, key, version string) (*storage.ObjectAttrs, error) {
	h, err := g.handle(ctx, key, version)
	if err != nil {
		return nil, err
	}
	return h.Attrs(ctx)
}

func (g *gcsBackend) getRetention(ctx context.Context, key, version string) (Retention, error) {
	a, err := g.attrs(ctx, key, version)
	if err != nil || a.Retention == nil || a.Retention.Mode == "" {
		return Retention{}, err
	}
	r := Retention{Until: a.Retention.RetainUntil.UTC()}
	switch a.Retention.Mode {
	case gcsUnlocked:
		r.Mode = Governance
	case gcsLocked:
		r.Mode = Compliance
	default:
		return Retention{}, fmt.Errorf("unknown GCS object retention mode %q", a.Retention.Mode)
	}
	return r, nil
}

func (g *gcsBackend) setHold(ctx context.Context, key, version string, on bool) error {
	h, err := g.handle(ctx, key, version)
	if err != nil {
		return err
	}
	_, err = h.Update(ctx, storage.ObjectAttrsToUpdate{TemporaryHold: on})
	return err
}

func (g *gcsBackend) getHold(ctx context.Context, key, version string) (bool, error) {
	a, err := g.attrs(ctx, key, version)
	if err != nil {
		return false, err
	}
	return a.TemporaryHold, nil
}

func (g *gcsBackend) deleteVersion(ctx context.Context, key, version string, bypass bool) error {
	h, err := g.handle(ctx, key, version)
	if err != nil {
		return err
	}
	if bypass {
		a, err := h.Attrs(ctx)
		if err != nil {
			return err
		}
		if a.Retention != nil && a.Retention.Mode == gcsUnlocked {
			// GCS has no bypass on delete: remove the Unlocked retention
			// (allowed with the override), then delete.
			if _, err := h.OverrideUnlockedRetention(true).Update(ctx, storage.ObjectAttrsToUpdate{Retention: &storage.ObjectRetention{}}); err != nil {
				return fmt.Errorf("removing the Unlocked (governance) retention before the delete: %w", err)
			}
		}
	}
	return h.Delete(ctx)
}
