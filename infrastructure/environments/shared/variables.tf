# Set by hand in terraform.tfvars (copy terraform.tfvars.example); the console generates no variables for
# this root.

variable "project_id" {
  description = "Google Cloud project of the shared registry (operators get Cloud SQL client rights in it)."
  type        = string
}

variable "region" {
  description = "Cloud SQL region."
  type        = string
}

variable "instance_name" {
  description = "Cloud SQL instance of the registry."
  type        = string
  default     = "opsconsole-registry"
}

variable "environment" {
  description = "Whose care the instance gets (dev, staging or production: tier, zonal or regional). It holds production's record for every environment, so production."
  type        = string
  default     = "production"
}

variable "network_id" {
  description = "VPC network the registry gets its private IP in (projects/PROJECT/global/networks/NAME); consoles reach it from inside it or over VPN."
  type        = string
}

variable "create_private_service_access" {
  description = "Create private services access in the network; false when it has it already."
  type        = bool
  default     = true
}

variable "operators" {
  description = "Email addresses of the on-call engineers who may connect."
  type        = list(string)
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose workflows deploy: gets a workload identity pool and provider and the deployer service account, which logs in to the registry too. null for none."
  type        = string
  default     = null
}

variable "github_allowed_refs" {
  description = "Git refs whose workflow runs may become the deployer."
  type        = list(string)
  default     = ["refs/heads/main"]
}
