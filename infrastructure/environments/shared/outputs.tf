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
