output "project_id" {
  description = "Vercel's id of the frontend project."
  value       = vercel_project.web.id
}

output "environment_variables" {
  description = "Names of the variables the frontend is built with (values stay in Vercel)."
  value = [
    vercel_project_environment_variable.websocket_url.key,
    vercel_project_environment_variable.firebase_project_id.key,
    vercel_project_environment_variable.firebase_api_key.key,
  ]
}
