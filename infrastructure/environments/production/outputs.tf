output "websocket_service_url" {
  description = "URL of the WebSocket server's Cloud Run service."
  value       = module.websocket_server.service_url
}

output "websocket_scaling" {
  description = "Instance bounds and CPU target as applied."
  value       = module.websocket_server.scaling
}

output "frontend_project_id" {
  description = "Vercel project id of the frontend."
  value       = module.frontend.project_id
}

output "image_repository_url" {
  description = "Where the pipeline pushes images: REGION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = module.artifact_registry.repository_url
}

output "redis" {
  description = "Memorystore's private address, as REDIS_HOST and REDIS_PORT are set on the service."
  value = {
    host = module.redis.host
    port = module.redis.port
  }
}

output "secrets" {
  description = "The Secret Manager secrets Terraform created (empty: add versions with gcloud secrets versions add)."
  value       = module.secrets.ids
}

output "alert_policies" {
  description = "Alert policy ids by signal."
  value       = module.monitoring.alert_policies
}
