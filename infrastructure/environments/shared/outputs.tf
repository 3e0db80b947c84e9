output "registry_connection_name" {
  description = "Cloud SQL instance connection name, PROJECT:REGION:INSTANCE."
  value       = module.registry_db.connection_name
}

output "registry_url" {
  description = "What the console takes as --registry, OPSCONSOLE_REGISTRY or registry in opsconsole.toml (no user: each person connects as their own IAM identity)."
  value       = module.registry_db.registry_url
}

output "registry_private_ip_address" {
  description = "The instance's private IP (it has no public one)."
  value       = module.registry_db.private_ip_address
}

output "registry_database_users" {
  description = "IAM identity -> database user, for granting opsconsole_dev, opsconsole_staging and opsconsole_production."
  value       = module.registry_db.database_users
}

output "workload_identity_provider" {
  description = "vars.GCP_WORKLOAD_IDENTITY_PROVIDER: the provider's full resource name (null without github_repository)."
  value       = var.github_repository == null ? null : module.github_deployer[0].workload_identity_provider
}

output "deployer_service_account" {
  description = "vars.GCP_SERVICE_ACCOUNT: the deployer's email; each environment's terraform.tfvars names it as deployer_service_account."
  value       = var.github_repository == null ? null : module.github_deployer[0].deployer_service_account
}
