// Package profiletest builds profile configurations over the test services,
// for the tests that open a whole stack.
package profiletest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/internal/testing/gcpkmsfake"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// GCP is a GCP profile over fake-gcs-server (a new bucket on g), a new topic
// and subscription on the Pub/Sub fake ps, and a key on an in-process fake
// Cloud KMS (gcpkmsfake) reached through kms_endpoint and closed when the
// test ends.
func GCP(t testing.TB, g testenv.GCS, ps testenv.PubSub) profile.Config {
	t.Helper()
	fake, err := gcpkmsfake.NewServer()
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	key, err := fake.CreateKey("county-elections", "us", "elections", "records")
	require.NoError(t, err)
	topic, sub := ps.NewTopicAndSubscription(t)
	return profile.Config{Profile: profile.GCP, GCP: profile.GCPConfig{
		Project:      "county-elections",
		Bucket:       g.NewBucket(t),
		KMSKey:       strings.TrimPrefix(key, "projects/county-elections/"), // relative to project
		KMSEndpoint:  fake.Addr(),
		Topic:        strings.TrimPrefix(topic, "gcppubsub://"),
		Subscription: strings.TrimPrefix(sub, "gcppubsub://"),
	}}
}
