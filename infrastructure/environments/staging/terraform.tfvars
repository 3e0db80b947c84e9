# The staging environment as the console's configuration describes it (opsconsole writes the same values
# for every plan; this file is for a run by hand). Secrets appear by reference only.
environment            = "staging"
project_id             = "ai-agent-network-staging"
region                 = "us-central1"
failover_region        = "us-east1"
service_name           = "websocket-server"
image                  = "us-docker.pkg.dev/cloudrun/container/hello"
min_instances          = 1
max_instances          = 10
cpu_utilization_target = 0.7
cpu_limit              = "1"
memory_limit           = "512Mi"
websocket_url          = "wss://ws.staging.agent-network.example"
frontend_project       = "agent-network-web-staging"
git_repository         = "agent-network/frontend"
firebase_project_id    = "ai-agent-network-staging"

secret_refs = {
  firebase_api_key = {
    project = "ai-agent-network-staging"
    secret  = "firebase-api-key"
    version = "latest"
  }
  redis_connection = {
    project = "ai-agent-network-staging"
    secret  = "redis-url"
    version = "latest"
  }
  vercel_token = {
    env_var = "VERCEL_TOKEN"
  }
}

# Staging: for the QA and integration teams, with test data. One warm instance, half production's ceiling,
# and Redis with a replica like production (so failover is tested here) at the smallest size; QA and
# integration may deploy; alerts go to Slack only.
image_repository         = "agent-network"
redis_tier               = "STANDARD_HA"
redis_memory_size_gb     = 1
deployer_service_account = "opsconsole-deployer@ai-agent-network-ops.iam.gserviceaccount.com"
deployers                = ["group:agent-network-qa@agent-network.example", "group:agent-network-integration@agent-network.example"]
slack_channel_name       = "#agent-network-staging"
pagerduty_enabled        = false
