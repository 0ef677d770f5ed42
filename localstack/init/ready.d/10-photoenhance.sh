#!/usr/bin/env bash
# PhotoEnhance resources in LocalStack: the jobs queue with its dead-letter queue (redrive after
# MAX_RECEIVE_COUNT receives) and, for setups that use LocalStack for S3 too, the bucket with the CORS
# rules browsers need to PUT uploads and GET results through presigned URLs.
#
# LocalStack runs every executable file in /etc/localstack/init/ready.d once it serves requests
# (docker-compose.yml mounts localstack/init there). Every step is idempotent: creating an existing
# queue with the same attributes, or an existing bucket, succeeds, so restarts are harmless.
#
# Outside LocalStack: AWS_CLI="aws --endpoint-url=http://127.0.0.1:4566" bash localstack/init/ready.d/10-photoenhance.sh
set -euo pipefail

# Word splitting is wanted here: AWS_CLI may carry options (--endpoint-url …).
read -r -a aws <<<"${AWS_CLI:-awslocal}"
region="${AWS_DEFAULT_REGION:-${S3_REGION:-us-east-1}}"
bucket="${S3_BUCKET:-photoenhance}"
queue="${SQS_QUEUE_NAME:-photoenhance-jobs}"
dlq="${SQS_DLQ_NAME:-photoenhance-jobs-dlq}"
max_receive="${MAX_RECEIVE_COUNT:-3}"
visibility="${VISIBILITY_TIMEOUT:-300}"
cors_origins="${CORS_ORIGINS:-*}"
fourteen_days=1209600

log() { printf '[photoenhance-init] %s\n' "$*"; }

# Dead-letter queue first: the jobs queue's RedrivePolicy names its ARN.
dlq_url=$("${aws[@]}" --region "$region" sqs create-queue --queue-name "$dlq" \
  --attributes "MessageRetentionPeriod=$fourteen_days" --query QueueUrl --output text)
dlq_arn=$("${aws[@]}" --region "$region" sqs get-queue-attributes --queue-url "$dlq_url" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)
log "dead-letter queue $dlq_url ($dlq_arn)"

queue_url=$("${aws[@]}" --region "$region" sqs create-queue --queue-name "$queue" --query QueueUrl --output text)
# Attributes are (re)applied separately so a queue left by an older run gets the current redrive policy.
# RedrivePolicy is itself a JSON document carried as a string value, hence the escaped quotes.
redrive="{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":$max_receive}"
attributes="{\"VisibilityTimeout\":\"$visibility\",\"ReceiveMessageWaitTimeSeconds\":\"20\",\"MessageRetentionPeriod\":\"$fourteen_days\",\"RedrivePolicy\":\"$redrive\"}"
"${aws[@]}" --region "$region" sqs set-queue-attributes --queue-url "$queue_url" --attributes "$attributes"
log "jobs queue $queue_url (visibility ${visibility}s, dead-lettered after $max_receive receives)"

# The bucket, for users who point S3_ENDPOINT at LocalStack instead of MinIO.
if "${aws[@]}" --region "$region" s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  log "bucket $bucket exists"
else
  "${aws[@]}" --region "$region" s3api create-bucket --bucket "$bucket" >/dev/null
  log "bucket $bucket created"
fi

# CORS: browsers upload with presigned PUTs and download results with presigned GETs from another origin.
origins_json=$(printf '%s' "$cors_origins" | tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d; s/.*/"&"/' | paste -sd, -)
"${aws[@]}" --region "$region" s3api put-bucket-cors --bucket "$bucket" --cors-configuration "{
  \"CORSRules\": [{
    \"AllowedOrigins\": [$origins_json],
    \"AllowedMethods\": [\"GET\", \"PUT\", \"HEAD\"],
    \"AllowedHeaders\": [\"*\"],
    \"ExposeHeaders\": [\"ETag\", \"Content-Length\", \"Content-Disposition\"],
    \"MaxAgeSeconds\": 3600
  }]
}"
log "bucket $bucket CORS allows GET/PUT/HEAD from $cors_origins"
