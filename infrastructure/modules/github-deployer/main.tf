# Workload identity federation for GitHub Actions: the pipeline of one repository, on the branches named
# here, exchanges its OIDC token for the deployer service account's, with no key anywhere. The pool and the
# deployer live in the shared (ops) project; each environment root grants the deployer exactly what it
# deploys there (run.developer on its service, iam.serviceAccountUser on its runtime service account,
# artifactregistry.writer on its image repository), and the shared root gives it its registry login.
#
# `opsconsole pipeline configure` sets the outputs as the GitHub variables the workflows read:
#   workload_identity_provider -> vars.GCP_WORKLOAD_IDENTITY_PROVIDER
#   deployer_service_account   -> vars.GCP_SERVICE_ACCOUNT

variable "project_id" {
  description = "Google Cloud project of the pool and the deployer service account."
  type        = string
}

variable "repository" {
  description = "GitHub repository whose workflows may deploy, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/[A-Za-z0-9_.-]{1,100}$", var.repository))
    error_message = "repository must be a GitHub repository as owner/name, such as agent-network/platform."
  }
}

variable "allowed_refs" {
  description = "Git refs whose workflow runs may deploy (pull requests never can)."
  type        = list(string)
  default     = ["refs/heads/main"]

  validation {
    condition     = length(var.allowed_refs) > 0 && alltrue([for r in var.allowed_refs : startswith(r, "refs/")])
    error_message = "allowed_refs must name at least one full ref, such as refs/heads/main."
  }
}

variable "environments" {
  description = "GitHub environments whose jobs may deploy (a job bound to an environment has the subject repo:OWNER/NAME:environment:ENV)."
  type        = list(string)
  default     = ["dev", "staging", "production"]
}

variable "pool_id" {
  description = "Workload identity pool id."
  type        = string
  default     = "github-actions"
}

variable "provider_id" {
  description = "Workload identity pool provider id."
  type        = string
  default     = "github"
}

variable "account_id" {
  description = "Deployer service account id (the part before @)."
  type        = string
  default     = "opsconsole-deployer"
}

locals {
  refs = join(", ", [for r in var.allowed_refs : "\"${r}\""])
  # GitHub's subject claim: repo:OWNER/NAME:ref:REF for a job without an environment (the image build),
  # repo:OWNER/NAME:environment:ENV for a job bound to one (the deploys, behind the environment's reviewers).
  subjects = concat(
    [for r in var.allowed_refs : "assertion.sub == \"repo:${var.repository}:ref:${r}\""],
    [for e in var.environments : "assertion.sub == \"repo:${var.repository}:environment:${e}\""],
  )
  # Only tokens of this repository, from an allowed ref, are accepted at all: a fork's, a pull request's or
  # another repository's token is refused by the provider before any binding is looked at.
  attribute_condition = "assertion.repository == \"${var.repository}\" && assertion.ref in [${local.refs}] && (${join(" || ", local.subjects)})"
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "OIDC tokens of ${var.repository}'s workflows."
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins assertion.sub to repo:OWNER/NAME:ref:REF and repo:OWNER/NAME:environment:ENV, plus repository and ref, but is built from variables in a local checkov cannot evaluate; tests/test_infra_github_deployer.py has Terraform evaluate it.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "GitHub ${var.repository}"
  attribute_condition                = local.attribute_condition
  attribute_mapping = {
    "google.subject"        = "assertion.sub"
    "attribute.repository"  = "assertion.repository"
    "attribute.ref"         = "assertion.ref"
    "attribute.environment" = "assertion.environment"
    "attribute.actor"       = "assertion.actor"
  }

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = var.account_id
  display_name = "CI deployer of ${var.repository}"
  description  = "GitHub Actions of ${var.repository} deploy as this account through workload identity federation; no key exists."
}

# The repository's workflows (any allowed ref: the provider's condition already refused the rest) may act as
# the deployer.
resource "google_service_account_iam_member" "github" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.repository}"
}

output "workload_identity_provider" {
  description = "Full resource name of the provider (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER): vars.GCP_WORKLOAD_IDENTITY_PROVIDER."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_service_account" {
  description = "Email of the deployer service account: vars.GCP_SERVICE_ACCOUNT."
  value       = google_service_account.deployer.email
}

output "attribute_condition" {
  description = "The condition tokens must meet."
  value       = local.attribute_condition
}
