// Package fipsclaim holds the test of the README's FIPS 140-3 statement:
// civicport's own code (every non-test Go file of the module) imports no
// cryptography outside Go's FIPS 140-3 module's approved set for its own
// purposes (no MD5, SHA-1, DES, RC4, MD4, RIPEMD), and does not call
// gocloud's Bucket.WriteAll, which computes an MD5 of what it writes. The
// few exceptions are listed in the test with the reason, and the README
// names them.
package fipsclaim
