package blobtest

import (
	"errors"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"gocloud.dev/blob"
)

// versionProbe reads object version ids of one backend family through the
// As escape hatch, and selects a version for a read.
type versionProbe struct {
	name string
	// id returns the version id in a's backend-specific attributes, and
	// whether a is of this backend family at all.
	idOK func(a *blob.Attributes) (string, bool)
	// selectVersion is a ReaderOptions.BeforeRead body that selects id.
	selectVersion func(as func(any) bool, id string) error
}

func (p *versionProbe) id(a *blob.Attributes) string {
	id, _ := p.idOK(a)
	return id
}

var errNoVersionSelect = errors.New("blobtest: the reader does not expose a way to select a version")

var versionProbes = []*versionProbe{
	{
		name: "s3blob (s3.HeadObjectOutput.VersionId)",
		idOK: func(a *blob.Attributes) (string, bool) {
			var h s3.HeadObjectOutput
			if !a.As(&h) {
				return "", false
			}
			if h.VersionId == nil {
				return "", true
			}
			return *h.VersionId, true
		},
		selectVersion: func(as func(any) bool, id string) error {
			var in *s3.GetObjectInput
			if !as(&in) || in == nil {
				return errNoVersionSelect
			}
			in.VersionId = &id
			return nil
		},
	},
	{
		name: "the civicport minio adapter (minio.ObjectInfo.VersionID)",
		idOK: func(a *blob.Attributes) (string, bool) {
			var oi minio.ObjectInfo
			if !a.As(&oi) {
				return "", false
			}
			return oi.VersionID, true
		},
		selectVersion: func(as func(any) bool, id string) error {
			var o *minio.GetObjectOptions
			if !as(&o) || o == nil {
				return errNoVersionSelect
			}
			o.VersionID = id
			return nil
		},
	},
	{
		name: "gcsblob (storage.ObjectAttrs.Generation)",
		idOK: func(a *blob.Attributes) (string, bool) {
			var oa storage.ObjectAttrs
			if !a.As(&oa) {
				return "", false
			}
			if oa.Generation == 0 {
				return "", true
			}
			return strconv.FormatInt(oa.Generation, 10), true
		},
		selectVersion: func(as func(any) bool, id string) error {
			gen, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return err
			}
			var h **storage.ObjectHandle
			if !as(&h) || h == nil || *h == nil {
				return errNoVersionSelect
			}
			*h = (*h).Generation(gen)
			return nil
		},
	},
}

// findVersion returns the probe that understands a, and the version id it
// reports, or nil.
func findVersion(a *blob.Attributes) (*versionProbe, string) {
	for _, p := range versionProbes {
		if id, ok := p.idOK(a); ok {
			return p, id
		}
	}
	return nil, ""
}

func probeNames() string {
	var n []string
	for _, p := range versionProbes {
		n = append(n, p.name)
	}
	return strings.Join(n, ", ")
}
