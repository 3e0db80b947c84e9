# The Next.js frontend on Vercel and the settings it is built with. The API token comes from the
# provider's VERCEL_API_TOKEN environment variable, never from this configuration.

resource "vercel_project" "web" {
  name      = var.project_name
  framework = "nextjs"

  git_repository = {
    type = "github"
    repo = var.git_repository
  }
}

resource "vercel_project_environment_variable" "websocket_url" {
  project_id = vercel_project.web.id
  key        = "NEXT_PUBLIC_WEBSOCKET_URL"
  value      = var.websocket_url
  target     = var.targets
}

resource "vercel_project_environment_variable" "firebase_project_id" {
  project_id = vercel_project.web.id
  key        = "NEXT_PUBLIC_FIREBASE_PROJECT_ID"
  value      = var.firebase_project_id
  target     = var.targets
}

resource "vercel_project_environment_variable" "firebase_api_key" {
  project_id = vercel_project.web.id
  key        = "NEXT_PUBLIC_FIREBASE_API_KEY"
  value      = var.firebase_api_key
  target     = var.targets
  sensitive  = true
}
