# One environment of the AI Agent Network: the WebSocket server on Cloud Run and the frontend on Vercel.
# State lives in a GCS bucket (remote, locked); bucket and prefix come from backend.tfbackend at init.

terraform {
  required_version = ">= 1.5.0"

  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    vercel = {
      source  = "vercel/vercel"
      version = "~> 2.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# The Vercel token is read from VERCEL_API_TOKEN at run time.
provider "vercel" {}

locals {
  # Secret Manager references become Cloud Run environment variables by name; env: references are
  # the console's own (Vercel token, Slack, PagerDuty) and never reach the service.
  secret_env = {
    for name, ref in var.secret_refs : upper(name) => {
      secret  = ref.project == var.project_id ? ref.secret : "projects/${ref.project}/secrets/${ref.secret}"
      version = ref.version
    } if ref.secret != null && name != "firebase_api_key"
  }
  firebase_api_key = var.secret_refs["firebase_api_key"]
}

# The frontend's Firebase key is read from Secret Manager here, so its value is never in a file or variable.
data "google_secret_manager_secret_version" "firebase_api_key" {
  project = local.firebase_api_key.project
  secret  = local.firebase_api_key.secret
  version = local.firebase_api_key.version
}

module "websocket_server" {
  source = "../../modules/websocket-server"

  project_id             = var.project_id
  region                 = var.region
  service_name           = var.service_name
  image                  = var.image
  min_instances          = var.min_instances
  max_instances          = var.max_instances
  cpu_utilization_target = var.cpu_utilization_target
  cpu_limit              = var.cpu_limit
  memory_limit           = var.memory_limit
  plain_env = {
    FIREBASE_PROJECT_ID = var.firebase_project_id
    ENVIRONMENT         = var.environment
  }
  secret_env = local.secret_env
}

module "frontend" {
  source = "../../modules/frontend"

  project_name        = var.frontend_project
  git_repository      = var.git_repository
  websocket_url       = var.websocket_url
  firebase_project_id = var.firebase_project_id
  firebase_api_key    = data.google_secret_manager_secret_version.firebase_api_key.secret_data
}
