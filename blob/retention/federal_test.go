package retention

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFederalElectionRetention(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name      string
		election  time.Time
		want      time.Time
		lastDayOK time.Time // the last day records must still be kept
	}{
		{"general election", day(2026, time.November, 3), day(2028, time.September, 4), day(2028, time.September, 3)},
		{"Nov 30: Sep 30 exists", day(2026, time.November, 30), day(2028, time.October, 1), day(2028, time.September, 30)},
		{"Jan 31: Nov has 30 days", day(2027, time.January, 31), day(2028, time.December, 1), day(2028, time.November, 30)},
		{"Apr 30 to a leap February", day(2026, time.April, 30), day(2028, time.March, 1), day(2028, time.February, 29)},
		{"Apr 29 to a common February", day(2027, time.April, 29), day(2029, time.March, 1), day(2029, time.February, 28)},
		{"Apr 28 to a common February", day(2027, time.April, 28), day(2029, time.March, 1), day(2029, time.February, 28)},
		{"Apr 27", day(2027, time.April, 27), day(2029, time.February, 28), day(2029, time.February, 27)},
		{"Dec 31 crosses two years", day(2026, time.December, 31), day(2028, time.November, 1), day(2028, time.October, 31)},
		{"Feb 29", day(2028, time.February, 29), day(2029, time.December, 30), day(2029, time.December, 29)},
		{"Mar 31 to Jan 31", day(2027, time.March, 31), day(2029, time.February, 1), day(2029, time.January, 31)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FederalElectionRetention(tc.election)
			assert.True(t, tc.want.Equal(got), "got %v, want %v", got, tc.want)
			assert.True(t, got.After(tc.lastDayOK.Add(24*time.Hour-time.Nanosecond)), "must keep through %v", tc.lastDayOK)
			// Never earlier than Go's plain AddDate(0, 22, 0).
			assert.False(t, got.Before(tc.election.AddDate(0, 22, 0)), "earlier than AddDate")
		})
	}

	// The clock time is ignored, the location kept (midnight local time,
	// across a DST change).
	got := FederalElectionRetention(time.Date(2026, time.November, 3, 21, 59, 0, 0, ny))
	assert.Equal(t, time.Date(2028, time.September, 4, 0, 0, 0, 0, ny), got)
	assert.Equal(t, ny, got.Location())
	// The same instant in UTC is already November 4 there.
	utc := FederalElectionRetention(time.Date(2026, time.November, 4, 2, 59, 0, 0, time.UTC))
	assert.Equal(t, day(2028, time.September, 5), utc)
}
