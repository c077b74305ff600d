output "telemetry_topic" {
  description = "GCP_PUBSUB_TOPIC of every gateway."
  value       = google_pubsub_topic.telemetry.name
}

output "events_topic" {
  description = "GCP_PUBSUB_EVENTS_TOPIC of every gateway."
  value       = google_pubsub_topic.events.name
}

output "fleet_subscription" {
  description = "The subscription `bessai fleet --subscription` reads."
  value       = google_pubsub_subscription.fleet.name
}

output "history_table" {
  description = "BigQuery table holding every telemetry message, partitioned by day."
  value       = "${var.project_id}.${google_bigquery_dataset.fleet.dataset_id}.${google_bigquery_table.telemetry.table_id}"
}

output "site_service_accounts" {
  description = "Publish-only identity of each site."
  value       = { for site, account in google_service_account.site : site => account.email }
}

output "ci_workload_identity_provider" {
  description = "For google-github-actions/auth's workload_identity_provider; empty without a repository."
  value       = var.github_repository == "" ? "" : google_iam_workload_identity_pool_provider.github[0].name
}
