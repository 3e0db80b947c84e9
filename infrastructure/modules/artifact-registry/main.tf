# The Docker repository the pipeline pushes the WebSocket server's image to:
# REGION-docker.pkg.dev/PROJECT/REPOSITORY/SERVICE:SHA (core/pipeline/workflow.py builds that name from
# [pipeline] image_repository, "agent-network" by default). Cloud Run pulls from it with its service agent,
# which has read access in its own project.

variable "project_id" {
  description = "Google Cloud project of the repository."
  type        = string
}

variable "region" {
  description = "Location of the repository (the Cloud Run region, so pulls stay in the region)."
  type        = string
}

variable "repository_id" {
  description = "Repository id; must equal the console's [pipeline] image_repository."
  type        = string
  default     = "agent-network"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.repository_id))
    error_message = "repository_id must be lower-case letters, digits and '-', up to 63 characters."
  }
}

variable "writers" {
  description = "IAM members that may push images (the CI deployer)."
  type        = list(string)
  default     = []
}

variable "readers" {
  description = "IAM members that may pull images besides Cloud Run in this project (another environment's Cloud Run service agent that deploys the same digest)."
  type        = list(string)
  default     = []
}

variable "keep_count" {
  description = "Most recent image versions kept; older untagged ones are deleted by the cleanup policy."
  type        = number
  default     = 30
}

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption keys; a customer-managed key would add a KMS key ring per environment that nothing else here needs, and the images hold no secrets.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Images of the AI Agent Network's WebSocket server, tagged with the git commit."

  # A tag names one image forever: a commit's tag cannot be moved to a different digest.
  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_count
    }
  }
  cleanup_policies {
    id     = "delete-old-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s"
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "writer" {
  for_each = toset(var.writers)

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = each.value
}

resource "google_artifact_registry_repository_iam_member" "reader" {
  for_each = toset(var.readers)

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}

output "repository_url" {
  description = "Where images are pushed: REGION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "repository_id" {
  description = "Repository id."
  value       = google_artifact_registry_repository.images.repository_id
}
