# The dev environment as the console's configuration describes it (opsconsole writes the same values
# for every plan; this file is for a run by hand). Secrets appear by reference only.
environment            = "dev"
project_id             = "ai-agent-network-dev"
region                 = "us-central1"
failover_region        = "us-east1"
service_name           = "websocket-server"
image                  = "us-docker.pkg.dev/cloudrun/container/hello"
min_instances          = 0
max_instances          = 3
cpu_utilization_target = 0.7
cpu_limit              = "1"
memory_limit           = "512Mi"
websocket_url          = "wss://ws.dev.agent-network.example"
frontend_project       = "agent-network-web-dev"
git_repository         = "agent-network/frontend"
firebase_project_id    = "ai-agent-network-dev"

secret_refs = {
  firebase_api_key = {
    project = "ai-agent-network-dev"
    secret  = "firebase-api-key"
    version = "latest"
  }
  redis_connection = {
    project = "ai-agent-network-dev"
    secret  = "redis-url"
    version = "latest"
  }
  vercel_token = {
    env_var = "VERCEL_TOKEN"
  }
}

# Development: for developers, with mock data. Scales to zero when idle, a few instances at most, a
# single-node Redis; developers deploy by hand; alerts go to Slack only (nobody is paged).
image_repository         = "agent-network"
redis_tier               = "BASIC"
redis_memory_size_gb     = 1
deployer_service_account = "opsconsole-deployer@ai-agent-network-ops.iam.gserviceaccount.com"
deployers                = ["group:agent-network-developers@agent-network.example"]
slack_channel_name       = "#agent-network-dev"
pagerduty_enabled        = false
