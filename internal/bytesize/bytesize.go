// Package bytesize writes a byte count the way civicport's reports and
// progress lines show it to people: "512 B", "1.5 KiB", "3.2 GiB" (binary
// units, one decimal).
package bytesize

import "fmt"

// String is n bytes in binary units with one decimal, or in bytes below
// 1 KiB.
func String(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
