# The Google Cloud side of a BESSAI Edge fleet: Pub/Sub topics and subscriptions, the fleet's
# history in BigQuery, a publish-only identity per site, and keyless CI through Workload Identity.

data "google_project" "this" {}

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "pubsub.googleapis.com",
    "bigquery.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

# The gateways' messages are JSON validated against bessai/resources/schemas/telemetry-v1.json
# (schema_version 1). Pub/Sub schemas are Avro or Protocol Buffers only, and the Avro JSON
# encoding wraps every non-null value of a nullable field ({"double": 1.5}), which these
# messages do not do: attaching an Avro translation would reject them. The schema is therefore
# enforced at the edge (tests validate every message kind) and carried as an attribute
# (schema_version) for the subscribers.
resource "google_pubsub_topic" "telemetry" {
  name                       = var.telemetry_topic
  message_retention_duration = var.message_retention
  labels = {
    app            = "bessai-edge"
    schema_version = "1"
  }
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "events" {
  name                       = var.events_topic
  message_retention_duration = var.message_retention
  labels = {
    app = "bessai-edge"
  }
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name = "${var.telemetry_topic}-dead-letter"
  labels = {
    app = "bessai-edge"
  }
  depends_on = [google_project_service.apis]
}

# The fleet view's subscription (bessai fleet --subscription ...): ordered per device, as the
# gateways publish with the device as ordering key.
resource "google_pubsub_subscription" "fleet" {
  name                       = "${var.telemetry_topic}-fleet"
  topic                      = google_pubsub_topic.telemetry.id
  ack_deadline_seconds       = 30
  message_retention_duration = var.message_retention
  enable_message_ordering    = true

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.telemetry_topic}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = var.message_retention
}

resource "google_pubsub_subscription" "events" {
  name                       = "${var.events_topic}-archive"
  topic                      = google_pubsub_topic.events.id
  message_retention_duration = var.message_retention
}

# Pub/Sub's own service agent forwards undeliverable messages to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  subscription = google_pubsub_subscription.fleet.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The fleet's history without code of ours: a BigQuery subscription writes every telemetry
# message into a table partitioned by day.
resource "google_bigquery_dataset" "fleet" {
  dataset_id  = "bessai_fleet"
  location    = var.region
  description = "BESSAI Edge telemetry, written by a Pub/Sub BigQuery subscription."
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_table" "telemetry" {
  dataset_id          = google_bigquery_dataset.fleet.dataset_id
  table_id            = "telemetry"
  deletion_protection = true

  time_partitioning {
    type          = "DAY"
    field         = "publish_time"
    expiration_ms = var.history_days * 86400000
  }

  clustering = ["subscription_name"]

  schema = jsonencode([
    { name = "subscription_name", type = "STRING", mode = "NULLABLE" },
    { name = "message_id", type = "STRING", mode = "NULLABLE" },
    { name = "publish_time", type = "TIMESTAMP", mode = "NULLABLE" },
    { name = "data", type = "STRING", mode = "NULLABLE", description = "The message: telemetry-v1 JSON" },
    { name = "attributes", type = "STRING", mode = "NULLABLE", description = "site_id, device, schema_version, sample_id as JSON" },
  ])
}

resource "google_bigquery_table_iam_member" "pubsub_writes_history" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.fleet.dataset_id
  table_id   = google_bigquery_table.telemetry.table_id
  role       = "roles/bigquery.dataEditor"
  member     = local.pubsub_agent
}

resource "google_pubsub_subscription" "history" {
  name  = "${var.telemetry_topic}-bigquery"
  topic = google_pubsub_topic.telemetry.id

  bigquery_config {
    table          = "${var.project_id}.${google_bigquery_dataset.fleet.dataset_id}.${google_bigquery_table.telemetry.table_id}"
    write_metadata = true
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_writes_history]
}

# One service account per site, allowed only to publish to the two topics. Its key (or, better,
# a workload identity of the site's own) goes to the gateway as GOOGLE_APPLICATION_CREDENTIALS.
resource "google_service_account" "site" {
  for_each     = var.sites
  account_id   = "bessai-site-${each.key}"
  display_name = "BESSAI Edge gateway ${each.key} (publish only)"
  depends_on   = [google_project_service.apis]
}

resource "google_pubsub_topic_iam_member" "site_publishes_telemetry" {
  for_each = var.sites
  topic    = google_pubsub_topic.telemetry.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.site[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "site_publishes_events" {
  for_each = var.sites
  topic    = google_pubsub_topic.events.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.site[each.key].email}"
}

# No read grant: the gateway's start-up check asks Pub/Sub's testIamPermissions, which a
# publish-only identity may call, whether it may publish (and a refused read of the topic
# is not taken as its absence).

# Keyless CI: the repository's GitHub Actions exchange their OIDC token for this identity.
resource "google_iam_workload_identity_pool" "ci" {
  count                     = var.github_repository == "" ? 0 : 1
  workload_identity_pool_id = "bessai-ci"
  display_name              = "BESSAI Edge CI"
  depends_on                = [google_project_service.apis]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  count                              = var.github_repository == "" ? 0 : 1
  workload_identity_pool_id          = google_iam_workload_identity_pool.ci[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub Actions"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
  }
  attribute_condition = "assertion.repository == \"${var.github_repository}\""
  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  count        = var.github_repository == "" ? 0 : 1
  account_id   = "bessai-ci"
  display_name = "BESSAI Edge CI (Pub/Sub setup checks)"
}

resource "google_project_iam_member" "ci_pubsub_editor" {
  count   = var.github_repository == "" ? 0 : 1
  project = var.project_id
  role    = "roles/pubsub.editor"
  member  = "serviceAccount:${google_service_account.ci[0].email}"
}

resource "google_service_account_iam_member" "ci_workload_identity" {
  count              = var.github_repository == "" ? 0 : 1
  service_account_id = google_service_account.ci[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.ci[0].name}/attribute.repository/${var.github_repository}"
}
