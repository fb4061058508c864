package retention

import "time"

// FederalElectionRetention returns the earliest time at which records of a
// federal election held on electionDay may be discarded under 52 U.S.C.
// 20701 (Civil Rights Act of 1960, title III), which requires election
// officers to retain and preserve "all records and papers" relating to an
// application, registration, payment of poll tax or other act requisite to
// voting in an election for federal office "for a period of twenty-two
// months from the date of any general, special, or primary election".
//
// It is a helper, not a default: state law often requires longer, and a
// pending contest, recount or litigation hold extends it. Use it as
// Retention.Until, typically with Compliance mode:
//
//	until := retention.FederalElectionRetention(time.Date(2026, 11, 3, 0, 0, 0, 0, loc))
//	err := retention.Set(ctx, b, key, retention.Retention{Mode: retention.Compliance, Until: until})
//
// The rule, chosen to never end early:
//
//   - Only the calendar date of electionDay counts, in electionDay's
//     location (its clock time is ignored); pass the election's own time
//     zone.
//   - The period ends with the day in the 22nd month after it with the same
//     day of the month; if that month is shorter, with its last day (a
//     period from January 31, 2027 ends with November 30, 2028; from April
//     30, 2026, with February 29, 2028).
//   - Records are kept through that whole day: the result is midnight at the
//     start of the following day, in electionDay's location. November 3,
//     2026 gives September 4, 2028, 00:00.
func FederalElectionRetention(electionDay time.Time) time.Time {
	const months = 22
	loc := electionDay.Location()
	y, m, d := electionDay.Date()
	// First day of the target month, then clamp the day of the month.
	first := time.Date(y, m+months, 1, 0, 0, 0, 0, loc)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	ty, tm, _ := first.Date()
	return time.Date(ty, tm, d+1, 0, 0, 0, 0, loc)
}
