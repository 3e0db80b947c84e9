variable "project_name" {
  description = "Vercel project name of the Next.js frontend."
  type        = string
}

variable "git_repository" {
  description = "GitHub repository (owner/name) Vercel builds the frontend from."
  type        = string
}

variable "websocket_url" {
  description = "wss:// URL of the WebSocket server the browser connects to."
  type        = string

  validation {
    condition     = can(regex("^wss?://[^/@\\s]+(/\\S*)?$", var.websocket_url))
    error_message = "websocket_url must be a ws:// or wss:// URL without credentials."
  }
}

variable "firebase_project_id" {
  description = "Firebase project the frontend signs users in with."
  type        = string
}

variable "firebase_api_key" {
  description = "Firebase web API key, passed in from Secret Manager by the environment (never written in a file)."
  type        = string
  sensitive   = true
}

variable "targets" {
  description = "Vercel environments the variables apply to."
  type        = list(string)
  default     = ["production", "preview"]
}
