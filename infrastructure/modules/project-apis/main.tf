# The Google APIs an environment's platform runs on. Left enabled on destroy: other things in the project
# may use them, and disabling an API with resources in it breaks them.

variable "project_id" {
  description = "Google Cloud project whose APIs are enabled."
  type        = string
}

variable "services" {
  description = "APIs to enable, as service names such as run.googleapis.com."
  type        = list(string)
  default = [
    "run.googleapis.com",              # Cloud Run (the WebSocket server)
    "artifactregistry.googleapis.com", # the image repository the pipeline pushes to
    "secretmanager.googleapis.com",    # the secrets the service reads
    "redis.googleapis.com",            # Memorystore for Redis
    "compute.googleapis.com",          # the VPC and subnet of Direct VPC egress
    "monitoring.googleapis.com",       # alert policies, notification channels, dashboards
    "iam.googleapis.com",              # service accounts
    "iamcredentials.googleapis.com",   # short-lived tokens for impersonation (workload identity federation)
    "sts.googleapis.com",              # token exchange of workload identity federation
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com", # the Cloud SQL connectors the console uses for the registry
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(var.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

output "services" {
  description = "The enabled APIs (depend on this before creating resources that need them)."
  value       = [for s in google_project_service.enabled : s.service]
}
