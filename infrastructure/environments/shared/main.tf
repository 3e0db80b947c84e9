# What every environment shares: the deployment registry, one PostgreSQL on Cloud SQL that the whole on-call
# team reads and writes, so dev, staging and production have one truth; and the CI deployer, one service
# account that GitHub Actions of one repository become through workload identity federation (each
# environment root grants it what it deploys there; GitHub's environment protection decides when). It is not an environment the console
# plans (`opsconsole infra` takes dev, staging or production); it is applied by hand:
#   terraform init -backend-config=backend.tfbackend && terraform apply
# State lives in a GCS bucket (remote, locked); bucket and prefix come from backend.tfbackend at init.

terraform {
  required_version = ">= 1.5.0"

  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# The APIs the registry needs; left enabled on destroy, since other things in the project may use them.
resource "google_project_service" "registry" {
  for_each = toset([
    "sqladmin.googleapis.com", "servicenetworking.googleapis.com",
    "iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "registry_db" {
  source = "../../modules/registry-db"

  project_id                    = var.project_id
  region                        = var.region
  instance_name                 = var.instance_name
  environment                   = var.environment
  network_id                    = var.network_id
  create_private_service_access = var.create_private_service_access
  operators                     = var.operators
  deployer_service_account      = var.github_repository == null ? null : module.github_deployer[0].deployer_service_account

  depends_on = [google_project_service.registry]
}

# GitHub Actions of var.github_repository deploy as the deployer; null creates no pool and no deployer.
module "github_deployer" {
  source = "../../modules/github-deployer"
  count  = var.github_repository == null ? 0 : 1

  project_id   = var.project_id
  repository   = var.github_repository
  allowed_refs = var.github_allowed_refs

  depends_on = [google_project_service.registry]
}
