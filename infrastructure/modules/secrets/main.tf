# Secret Manager secrets: the containers only. Their values are never in Terraform, its variables or its
# state: a person adds each version with
#   printf %s "$VALUE" | gcloud secrets versions add SECRET --project PROJECT --data-file=-
# Who may read a secret is granted beside whoever reads it (the WebSocket server module grants its runtime
# service account access to exactly the secrets its environment variables name).

variable "project_id" {
  description = "Google Cloud project of the secrets."
  type        = string
}

variable "secret_ids" {
  description = "Secret ids to create, such as redis-url."
  type        = list(string)

  validation {
    condition     = alltrue([for id in var.secret_ids : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "secret_ids must be Secret Manager ids: letters, digits, '_' and '-'."
  }
}

variable "labels" {
  description = "Labels on every secret."
  type        = map(string)
  default     = {}
}

resource "google_secret_manager_secret" "secret" {
  for_each = toset(var.secret_ids)

  project   = var.project_id
  secret_id = each.value
  labels    = var.labels

  replication {
    auto {}
  }
}

output "ids" {
  description = "Secret id -> resource name (projects/P/secrets/S)."
  value       = { for id, secret in google_secret_manager_secret.secret : id => secret.id }
}
