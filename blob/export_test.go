package blob

// MaxListings is maxListings, for the file:// listing tests.
const MaxListings = maxListings
