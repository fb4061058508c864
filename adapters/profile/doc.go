// Package profile opens a whole provider stack — a bucket, a keeper, a
// topic and a subscription, as gocloud.dev's own *blob.Bucket,
// *secrets.Keeper, *pubsub.Topic and *pubsub.Subscription — from a small
// configuration naming one of four profiles:
//
//	aws     S3 + KMS + SQS (optionally fed by an SNS topic)
//	gcp     Cloud Storage + Cloud KMS + Pub/Sub
//	onprem  an S3-compatible server (MinIO, versitygw, ...) + a PKCS#11 HSM
//	        + NATS JetStream or RabbitMQ
//	local   a directory + a local AES-256 key + an in-process topic (no server)
//
// so that moving an election office to another provider changes a file, not
// the program. Each profile only builds URLs and opens them through
// civicport's blob.Open, secrets.Open, pubsub.OpenTopic and
// pubsub.OpenSubscription; Describe prints those URLs with credentials and
// keys redacted.
//
//	cfg, err := profile.Load("civicport.json") // file, then CIVICPORT_* variables, then Validate
//	stack, cleanup, err := profile.Open(ctx, cfg)
//	defer cleanup()
//	err = stack.Bucket.WriteAll(ctx, "results/0001.json", data, nil)
//
// # Configuration file
//
// JSON, read with unknown fields refused (a typo is an error naming the
// field). Only the selected profile's section is used, so one file may hold
// several:
//
//	{
//	  "profile": "aws",
//	  "aws": {"region": "us-east-1", "bucket": "county-records", "kms_key": "alias/elections",
//	          "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/results"},
//	  "onprem": {"s3_endpoint": "http://10.0.0.5:9000", "bucket": "county-records",
//	             "pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so", "pkcs11_token": "county-hsm",
//	             "pkcs11_key": "elections", "messaging": "jetstream", "jetstream_stream": "RESULTS",
//	             "jetstream_subject": "results.county", "jetstream_consumer": "tabulator"}
//	}
//
// Fields, per profile (see AWSConfig, GCPConfig, OnPremConfig and
// LocalConfig for each in full):
//
//	aws     region*, bucket*, kms_key* (key id, key ARN, alias/NAME or alias ARN),
//	        queue_url* (SQS queue URL: the subscription, and the topic unless
//	        sns_topic_arn is set), sns_topic_arn, aws_profile (shared config
//	        profile), s3_endpoint, kms_endpoint, sqs_endpoint, sns_endpoint
//	        (http(s)://HOST[:PORT] of S3-, KMS-, SQS- or SNS-compatible servers;
//	        with s3_endpoint, path-style addressing)
//	gcp     project*, bucket*, kms_key* (projects/P/locations/L/keyRings/R/cryptoKeys/K,
//	        or locations/L/... in project), kms_endpoint (HOST:PORT of a Cloud
//	        KMS-compatible gRPC server), topic* and subscription* (ids in project,
//	        or projects/P/topics/T and projects/P/subscriptions/S)
//	onprem  s3_endpoint*, bucket*, region (default us-east-1), blob_driver ("s3",
//	        the default, or "minio" for the native minio:// adapter),
//	        pkcs11_module (default $PKCS11_MODULE), pkcs11_token*, pkcs11_key*,
//	        pkcs11_pin_env (default PKCS11_PIN) or pkcs11_pin_file, pkcs11_create_key,
//	        messaging* ("jetstream" or "rabbit"); with jetstream: jetstream_stream*,
//	        jetstream_subject*, jetstream_consumer*, jetstream_create; with rabbit:
//	        rabbit_exchange*, rabbit_queue*
//	local   dir*, create_dir, key_file or key_env (default CIVICPORT_LOCAL_KEY),
//	        topic (default "civicport")
//
// (* required.) Booleans are JSON true/false.
//
// # Environment variables
//
// The environment wins over the file. CIVICPORT_PROFILE selects the profile;
// CIVICPORT_<FIELD> (the JSON name in upper case) sets that field of the
// selected profile. Variables set to "" are ignored, and so are variables of
// fields the selected profile does not have. Booleans take true, false, 1
// or 0.
//
//	CIVICPORT_PROFILE              aws | gcp | onprem | local
//	aws:    CIVICPORT_REGION, CIVICPORT_BUCKET, CIVICPORT_KMS_KEY, CIVICPORT_QUEUE_URL,
//	        CIVICPORT_SNS_TOPIC_ARN, CIVICPORT_AWS_PROFILE, CIVICPORT_S3_ENDPOINT,
//	        CIVICPORT_KMS_ENDPOINT, CIVICPORT_SQS_ENDPOINT, CIVICPORT_SNS_ENDPOINT
//	gcp:    CIVICPORT_PROJECT, CIVICPORT_BUCKET, CIVICPORT_KMS_KEY, CIVICPORT_KMS_ENDPOINT,
//	        CIVICPORT_TOPIC, CIVICPORT_SUBSCRIPTION
//	onprem: CIVICPORT_S3_ENDPOINT, CIVICPORT_BUCKET, CIVICPORT_REGION, CIVICPORT_BLOB_DRIVER,
//	        CIVICPORT_PKCS11_MODULE, CIVICPORT_PKCS11_TOKEN, CIVICPORT_PKCS11_KEY,
//	        CIVICPORT_PKCS11_PIN_ENV, CIVICPORT_PKCS11_PIN_FILE, CIVICPORT_PKCS11_CREATE_KEY,
//	        CIVICPORT_MESSAGING, CIVICPORT_JETSTREAM_STREAM, CIVICPORT_JETSTREAM_SUBJECT,
//	        CIVICPORT_JETSTREAM_CONSUMER, CIVICPORT_JETSTREAM_CREATE,
//	        CIVICPORT_RABBIT_EXCHANGE, CIVICPORT_RABBIT_QUEUE
//	local:  CIVICPORT_DIR, CIVICPORT_CREATE_DIR, CIVICPORT_KEY_FILE, CIVICPORT_KEY_ENV,
//	        CIVICPORT_TOPIC
//
// # Secrets
//
// No secret is ever in the file (there is no field for one) or in a URL:
//
//   - aws: the AWS SDK's own sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//     AWS_SESSION_TOKEN, AWS_PROFILE or aws_profile, an instance role, ...).
//   - gcp: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
//     gcloud, the metadata server). STORAGE_EMULATOR_HOST and
//     PUBSUB_EMULATOR_HOST point at emulators (with STORAGE_EMULATOR_HOST set,
//     the bucket is opened without credentials).
//   - onprem: S3 credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
//     (blob_driver "minio": MINIO_ACCESS_KEY and MINIO_SECRET_KEY first); the
//     HSM user PIN from the variable pkcs11_pin_env names (default PKCS11_PIN)
//     or from the first line of pkcs11_pin_file; the NATS server, with any
//     credentials, from NATS_SERVER_URL; the RabbitMQ server from
//     RABBIT_SERVER_URL.
//   - local: the key, 32 bytes base64-encoded (`openssl rand -base64 32`),
//     from key_file or the variable key_env names (default
//     CIVICPORT_LOCAL_KEY).
//
// Validate reads no secret; Open checks that each is there and says which
// field or variable is missing without printing any value.
//
// # Errors
//
// Validate returns one *FieldError per bad field (joined with errors.Join),
// naming the profile, the field, the value given and what was expected, and
// the variable that set it when one did:
//
//	profile aws: field "region": empty; want an AWS region such as us-east-1
//	profile onprem: field "messaging": got "kafka" (from $CIVICPORT_MESSAGING); want one of jetstream, rabbit
//	field "profile": got "azure"; want one of aws, gcp, onprem, local
//
// URLs in errors and in Describe are redacted (internal/redact; a local key
// is shown as a SHA-256 fingerprint).
//
// # Wire
//
// AWSSet, GCPSet, OnPremSet and LocalSet are github.com/google/wire provider
// sets: from a context.Context and the profile's config struct they provide
// *blob.Bucket, *secrets.Keeper, *pubsub.Topic and *pubsub.Subscription,
// each with a cleanup, and *Stack. OpenAWS, OpenGCP, OpenOnPrem and
// OpenLocal are the injectors (wire.go, generated into wire_gen.go; run
// `go generate ./adapters/profile/...` after changing them).
//
// # Lifetimes
//
// Open is lazy where the drivers are: S3, GCS, KMS, SQS and Pub/Sub are
// first contacted on first use; JetStream and RabbitMQ connect at once.
// The cleanup (Stack.Close) shuts the subscription and topic down and closes
// the keeper and bucket. The local profile's mem:// topic belongs to
// gocloud's process-wide registry and stays open, so the profile can be
// opened again in the same process; a local subscription sees only messages
// sent after it was opened.
package profile
