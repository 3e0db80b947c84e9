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
