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

variable "deployer_service_account" {
  description = "Service account CI deploys as, or null."
  type        = string
  default     = null
}
