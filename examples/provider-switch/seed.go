package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"maps"

	gcblob "gocloud.dev/blob"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// recordsPrefix holds the archive; audit/ holds its audit log.
const (
	recordsPrefix = "2026-general/"
	auditPrefix   = "audit/"
)

// record is one object of the synthetic archive.
type record struct {
	Key, ContentType string
	Body             []byte
}

// archive is a small synthetic election archive: registration CSV shards,
// precinct results (JSON) and ballot-scan-like binary objects. It is
// deterministic so that runs are comparable.
func archive() []record {
	var out []record
	for s := range 3 {
		csv := []byte("voter_id,last_name,first_name,precinct,status\n")
		for i := range 200 {
			csv = fmt.Appendf(csv, "V%06d,Surname%d,Given%d,P%04d,active\n", s*200+i, (s*200+i)%97, i%53, 1+i%6)
		}
		out = append(out, record{fmt.Sprintf("%sregistration/shard-%03d.csv", recordsPrefix, s), "text/csv", csv})
	}
	for p := 1; p <= 6; p++ {
		j := fmt.Appendf(nil, `{"precinct":"P%04d","contest":"Governor","ballots_cast":%d,"results":{"Rivera":%d,"Chen":%d,"write-in":%d}}`,
			p, 900+p*37, 400+p*11, 450+p*23, p)
		out = append(out, record{fmt.Sprintf("%sresults/precinct-%04d.json", recordsPrefix, p), "application/json", j})
	}
	for b := 1; b <= 3; b++ {
		scan := make([]byte, 0, 96<<10)
		seed := sha256.Sum256(fmt.Appendf(nil, "ballot-scan-%d", b))
		for i := uint64(0); len(scan) < cap(scan); i++ {
			block := sha256.Sum256(binary.BigEndian.AppendUint64(seed[:], i))
			scan = append(scan, block[:]...)
		}
		out = append(out, record{fmt.Sprintf("%sballots/scan-%04d.tiff", recordsPrefix, b), "image/tiff", scan})
	}
	return out
}

// writeArchive writes the records to b (a sealed, audited bucket).
func writeArchive(ctx context.Context, b *gcblob.Bucket) (objects, bytes int64, err error) {
	for _, r := range archive() {
		if err := b.WriteAll(ctx, r.Key, r.Body, &gcblob.WriterOptions{ContentType: r.ContentType, Metadata: map[string]string{"election": "2026-general"}}); err != nil {
			return objects, bytes, fmt.Errorf("write %s: %w", r.Key, err)
		}
		objects++
		bytes += int64(len(r.Body))
	}
	return objects, bytes, nil
}

// publishResults signs one message per precinct result (its key as
// MetadataID) and sends it to topic; then one replay of the last message and
// one forgery (the body changed after signing) to exercise the consumer.
// Sign takes ownership of the topic it wraps, so the caller shuts the
// returned signed topic down instead of topic.
func publishResults(ctx context.Context, topic *gcpubsub.Topic, signer sign.Signer) (signed *gcpubsub.Topic, ids []string, err error) {
	if signed, err = sign.Wrap(topic, signer); err != nil {
		return nil, nil, err
	}
	var last *gcpubsub.Message
	for _, r := range archive() {
		if r.ContentType != "application/json" {
			continue
		}
		m := &gcpubsub.Message{Body: r.Body, Metadata: map[string]string{meta.ID: r.Key, "content-type": r.ContentType}}
		if err := signed.Send(ctx, m); err != nil {
			return signed, ids, fmt.Errorf("publish %s: %w", r.Key, err)
		}
		ids = append(ids, r.Key)
		last = m
	}
	// The replay goes out signed, as the original did; the forgery keeps a
	// signature made over other bytes, so it goes out through the raw topic.
	if err := signed.Send(ctx, &gcpubsub.Message{Body: last.Body, Metadata: maps.Clone(last.Metadata)}); err != nil {
		return signed, ids, fmt.Errorf("publish the replay: %w", err)
	}
	md, err := sign.Message(ctx, signer, last)
	if err != nil {
		return signed, ids, err
	}
	forged := &gcpubsub.Message{Body: append([]byte(nil), last.Body...), Metadata: md}
	forged.Body[len(forged.Body)/2] ^= 0x04
	if err := topic.Send(ctx, forged); err != nil {
		return signed, ids, fmt.Errorf("publish the forgery: %w", err)
	}
	return signed, ids, nil
}

// randomKey is a fresh AES-256 key, base64 (the local profile's key_file).
func randomKey() string {
	var k [32]byte
	rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}
