package retention_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/retention"
)

// Keep a cast-vote record for the federal retention period, in compliance
// mode, on a bucket created with object lock.
func Example() {
	ctx := context.Background()
	b, err := cpblob.Open(ctx, "s3://records?endpoint=http://127.0.0.1:9100&use_path_style=true&region=us-east-1")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := retention.Supported(ctx, b); err != nil {
		log.Fatal(err) // e.g. ErrNotEnabled: the bucket was created without object lock
	}

	const key = "2026-general/precinct-7/cvr.json"
	if err := b.WriteAll(ctx, key, []byte(`{"contest":"mayor","choice":"A"}`), nil); err != nil {
		log.Fatal(err)
	}
	version, err := retention.CurrentVersion(ctx, b, key)
	if err != nil {
		log.Fatal(err)
	}
	nyc, _ := time.LoadLocation("America/New_York")
	until := retention.FederalElectionRetention(time.Date(2026, time.November, 3, 0, 0, 0, 0, nyc))
	r := retention.Retention{Mode: retention.Compliance, Until: until}
	if err := retention.Set(ctx, b, key, r, retention.VersionID(version)); err != nil {
		log.Fatal(err)
	}

	// Until then, the version cannot be deleted, not even with a bypass.
	err = retention.Delete(ctx, b, key, retention.VersionID(version), retention.BypassGovernance())
	fmt.Println(gcerrors.Code(err))
}

// Backends without retention refuse, with Unimplemented.
func Example_unsupported() {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	err := retention.Set(ctx, b, "ballot.json", retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)})
	fmt.Println(gcerrors.Code(err), errors.Is(err, retention.ErrUnsupported))
	// Output: Unimplemented true
}

func ExampleFederalElectionRetention() {
	fmt.Println(retention.FederalElectionRetention(time.Date(2026, time.November, 3, 0, 0, 0, 0, time.UTC)))
	fmt.Println(retention.FederalElectionRetention(time.Date(2027, time.January, 31, 0, 0, 0, 0, time.UTC)))
	// Output:
	// 2028-09-04 00:00:00 +0000 UTC
	// 2028-12-01 00:00:00 +0000 UTC
}
