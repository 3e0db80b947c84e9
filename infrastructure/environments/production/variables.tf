# The console writes these from its configuration (generate_terraform_vars) into a tfvars.json for each
# plan; terraform.tfvars holds the same values for a run by hand.

variable "environment" {
  description = "Environment name: dev, staging or production."
  type        = string
}

variable "project_id" {
  description = "Google Cloud project of this environment."
  type        = string
}

variable "region" {
  description = "Cloud Run region."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service of the WebSocket server."
  type        = string
}

variable "image" {
  description = "First image of the service; later revisions are the deploy pipeline's."
  type        = string
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
}

variable "max_instances" {
  description = "Most instances the autoscaler may start."
  type        = number
}

variable "cpu_utilization_target" {
  description = "Autoscaling CPU target as a fraction (0.7 = 70 %)."
  type        = number
}

variable "cpu_limit" {
  description = "CPU limit per instance."
  type        = string
}

variable "memory_limit" {
  description = "Memory limit per instance."
  type        = string
}

variable "websocket_url" {
  description = "wss:// URL browsers connect to."
  type        = string
}

variable "frontend_project" {
  description = "Vercel project name."
  type        = string
}

variable "git_repository" {
  description = "GitHub repository of the frontend (owner/name)."
  type        = string
}

variable "firebase_project_id" {
  description = "Firebase project."
  type        = string
}

variable "secret_refs" {
  description = "Secrets by reference only: a Secret Manager secret (project, secret, version) or an environment variable name."
  type = map(object({
    env_var = optional(string)
    project = optional(string)
    secret  = optional(string)
    version = optional(string, "latest")
  }))

  validation {
    condition     = contains(keys(var.secret_refs), "firebase_api_key") && var.secret_refs["firebase_api_key"].secret != null
    error_message = "secret_refs must name the Secret Manager secret of firebase_api_key."
  }
}
