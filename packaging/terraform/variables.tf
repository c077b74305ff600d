variable "project_id" {
  description = "Google Cloud project that receives the fleet's telemetry."
  type        = string
}

variable "region" {
  description = "Region of the BigQuery dataset and of regional resources."
  type        = string
  default     = "southamerica-west1" # Santiago
}

variable "sites" {
  description = "Site ids (as in each gateway's site file); each gets a publish-only service account."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.sites : can(regex("^[a-z][a-z0-9-]{2,24}$", s))])
    error_message = "A site id is 3-25 characters: a-z, 0-9 and '-', starting with a letter (it becomes part of a service account id)."
  }
}

variable "telemetry_topic" {
  description = "Topic the gateways publish samples, aggregates and alarms to (GCP_PUBSUB_TOPIC)."
  type        = string
  default     = "bessai-telemetry"
}

variable "events_topic" {
  description = "Topic for audit-head anchors and events (GCP_PUBSUB_EVENTS_TOPIC)."
  type        = string
  default     = "bessai-events"
}

variable "message_retention" {
  description = "How long Pub/Sub keeps messages not yet acknowledged by a subscriber."
  type        = string
  default     = "604800s" # 7 days
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message to the fleet subscription before it goes to the dead-letter topic."
  type        = number
  default     = 10
}

variable "history_days" {
  description = "Days of telemetry kept in BigQuery (partitions expire after this)."
  type        = number
  default     = 3650
}

variable "github_repository" {
  description = "owner/name of the repository whose CI may act on this project through Workload Identity; empty for none."
  type        = string
  default     = ""
}
