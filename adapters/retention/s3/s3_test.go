package s3_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/civicport/civicport/adapters/retention/internal/retentiontest"
	_ "github.com/civicport/civicport/adapters/retention/s3"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// selectVersion reads version through s3blob's *s3.GetObjectInput.
func selectVersion(as func(any) bool, version string) error {
	var in *s3.GetObjectInput
	if !as(&in) {
		return errors.New("s3blob did not expose its *s3.GetObjectInput")
	}
	in.VersionId = &version
	return nil
}

// S3 Object Lock through s3blob, on MinIO and versitygw.
func TestObjectLock(t *testing.T) {
	retentiontest.Run(t,
		retentiontest.S3Backend("s3blob-on-MinIO", testenv.MinIO, testenv.S3.S3URL, selectVersion),
		retentiontest.S3Backend("s3blob-on-versitygw", testenv.Versitygw, testenv.S3.S3URL, selectVersion),
	)
}
