# One environment of the AI Agent Network: the WebSocket server on Cloud Run with its image repository,
# network, Memorystore for Redis, secrets and monitoring, and the frontend on Vercel. What differs between
# environments is in terraform.tfvars (sizes, who may deploy, who is alerted); the code is the same.
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

  # The secrets this project holds and Terraform creates (empty: values are added with
  # `gcloud secrets versions add`): every one the service reads, the frontend's Firebase key, and the
  # tokens of the alerting channels this environment uses.
  service_secrets = [for name, ref in var.secret_refs : ref.secret if ref.secret != null && ref.project == var.project_id]
  monitoring_secrets = concat(
    var.slack_channel_name == null ? [] : ["monitoring-slack-token"],
    var.pagerduty_enabled ? ["monitoring-pagerduty-key"] : [],
  )

  # Who may deploy: the CI deployer (created in environments/shared) and this environment's people.
  deployers = concat(
    var.deployer_service_account == null ? [] : ["serviceAccount:${var.deployer_service_account}"],
    var.deployers,
  )
  labels = {
    app         = "agent-network"
    environment = var.environment
  }
}

module "apis" {
  source = "../../modules/project-apis"

  project_id = var.project_id
}

module "artifact_registry" {
  source = "../../modules/artifact-registry"

  project_id    = var.project_id
  region        = var.region
  repository_id = var.image_repository
  writers       = var.deployer_service_account == null ? [] : ["serviceAccount:${var.deployer_service_account}"]

  depends_on = [module.apis]
}

module "network" {
  source = "../../modules/network"

  project_id      = var.project_id
  region          = var.region
  name            = "agent-network"
  subnet_cidr     = var.subnet_cidr
  failover_region = var.failover_region

  depends_on = [module.apis]
}

module "redis" {
  source = "../../modules/redis"

  project_id     = var.project_id
  region         = var.region
  name           = "agent-network"
  network_id     = module.network.network_id
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_size_gb
  labels         = local.labels
}

module "secrets" {
  source = "../../modules/secrets"

  project_id = var.project_id
  secret_ids = distinct(concat(local.service_secrets, local.monitoring_secrets))
  labels     = local.labels

  depends_on = [module.apis]
}

module "monitoring" {
  source = "../../modules/monitoring"

  project_id         = var.project_id
  environment        = var.environment
  service_name       = module.websocket_server.service_name
  redis_instance_id  = module.redis.id
  max_instances      = module.websocket_server.scaling.max_instances
  slack_channel_name = var.slack_channel_name
  pagerduty_enabled  = var.pagerduty_enabled

  depends_on = [module.secrets]
}

# The frontend's Firebase key is read from Secret Manager here, so its value is never in a file or variable.
data "google_secret_manager_secret_version" "firebase_api_key" {
  project    = local.firebase_api_key.project
  secret     = local.firebase_api_key.secret
  version    = local.firebase_api_key.version
  depends_on = [module.secrets]
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
  vpc_network            = module.network.network_name
  vpc_subnet             = module.network.subnet_name
  deployers              = local.deployers
  plain_env = {
    FIREBASE_PROJECT_ID = var.firebase_project_id
    ENVIRONMENT         = var.environment
    REDIS_HOST          = module.redis.host
    REDIS_PORT          = module.redis.port
  }
  secret_env = local.secret_env

  depends_on = [module.secrets]
}

module "frontend" {
  source = "../../modules/frontend"

  project_name        = var.frontend_project
  git_repository      = var.git_repository
  websocket_url       = var.websocket_url
  firebase_project_id = var.firebase_project_id
  firebase_api_key    = data.google_secret_manager_secret_version.firebase_api_key.secret_data
}
