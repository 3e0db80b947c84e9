# The production environment as the console's configuration describes it (opsconsole writes the same values
# for every plan; this file is for a run by hand). Secrets appear by reference only.
environment            = "production"
project_id             = "ai-agent-network-prod"
region                 = "us-central1"
failover_region        = "us-east1"
service_name           = "websocket-server"
image                  = "us-docker.pkg.dev/cloudrun/container/hello"
min_instances          = 2
max_instances          = 20
cpu_utilization_target = 0.7
cpu_limit              = "1"
memory_limit           = "512Mi"
websocket_url          = "wss://ws.agent-network.example"
frontend_project       = "agent-network-web"
git_repository         = "agent-network/frontend"
firebase_project_id    = "ai-agent-network-prod"

secret_refs = {
  firebase_api_key = {
    project = "ai-agent-network-prod"
    secret  = "firebase-api-key"
    version = "latest"
  }
  redis_connection = {
    project = "ai-agent-network-prod"
    secret  = "redis-url"
    version = "latest"
  }
  vercel_token = {
    env_var = "VERCEL_TOKEN"
  }
}

# Production: for users, run by operations. The seed's 2 to 20 instances at a 70 % CPU target, Redis with
# a replica in another zone; only operations deploy by hand (and CI after approval); alerts page on-call
# through PagerDuty and post to Slack.
image_repository         = "agent-network"
redis_tier               = "STANDARD_HA"
redis_memory_size_gb     = 5
deployer_service_account = "opsconsole-deployer@ai-agent-network-ops.iam.gserviceaccount.com"
deployers                = ["group:agent-network-operations@agent-network.example"]
slack_channel_name       = "#agent-network-ops"
pagerduty_enabled        = true
