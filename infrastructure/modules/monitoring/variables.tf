variable "project_id" {
  description = "Google Cloud project whose metrics are watched."
  type        = string
}

variable "environment" {
  description = "Environment name, in policy names and labels."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service watched."
  type        = string
}

variable "redis_instance_id" {
  description = "Memorystore instance id watched, projects/P/locations/R/instances/N (its metrics' resource label instance_id)."
  type        = string
}

variable "max_instances" {
  description = "The service's max instances: the instance alert fires near it."
  type        = number
}

variable "error_rate_threshold" {
  description = "5xx responses as a fraction of all responses that alerts (0.05 = 5 %)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.error_rate_threshold > 0 && var.error_rate_threshold < 1
    error_message = "error_rate_threshold must be a fraction between 0 and 1."
  }
}

variable "latency_p99_threshold_ms" {
  description = "p99 request latency in milliseconds that alerts."
  type        = number
  default     = 1000
}

variable "instance_ratio_threshold" {
  description = "Share of max_instances in use that alerts (the autoscaler is close to its ceiling)."
  type        = number
  default     = 0.8
}

variable "redis_memory_ratio_threshold" {
  description = "Redis memory usage ratio that alerts."
  type        = number
  default     = 0.8
}

variable "redis_connections_threshold" {
  description = "Connected Redis clients that alert."
  type        = number
  default     = 5000
}

variable "slack_channel_name" {
  description = "Slack channel alerts are posted to, such as #ops-alerts; null for none."
  type        = string
  default     = null
}

variable "slack_token_secret" {
  description = "Secret Manager secret (id in this project) holding the Slack app's OAuth token for the channel."
  type        = string
  default     = "monitoring-slack-token"
}

variable "pagerduty_enabled" {
  description = "Page on-call through PagerDuty (production)."
  type        = bool
  default     = false
}

variable "pagerduty_key_secret" {
  description = "Secret Manager secret (id in this project) holding the PagerDuty service integration key."
  type        = string
  default     = "monitoring-pagerduty-key"
}
