# The temporary build VM: a Standard security-type (no Trusted Launch) Generation 2 VM from the
# Windows 365 Cloud PC Marketplace base, default OS disk, no data disks, captured as a managed image.

source "azure-arm" "cloudpc" {
  # Authentication: GitHub OIDC, Azure CLI or client secret, all through variables.
  cloud_environment_name = var.cloud_environment_name
  subscription_id        = var.subscription_id
  tenant_id              = var.tenant_id
  client_id              = var.client_id
  client_secret          = var.client_secret
  oidc_request_url       = var.oidc_request_url
  oidc_request_token     = var.oidc_request_token
  use_azure_cli_auth     = var.use_azure_cli_auth

  # Base image (free Marketplace image: no plan_info).
  image_publisher = local.base_image_publisher
  image_offer     = local.base_image_offer
  image_sku       = local.base_image_sku
  image_version   = var.image_version
  os_type         = "Windows"

  # Build VM: temporary resource group in `location`, or an existing one.
  location                  = var.location
  build_resource_group_name = var.build_resource_group_name
  vm_size                   = var.vm_size
  # Do not wait minutes for the temporary group's deletion: a cancelled job has only seconds before it is killed.
  async_resourcegroup_delete = true

  # Optional private networking: with a virtual network the VM gets no public IP.
  virtual_network_name                   = var.virtual_network_name
  virtual_network_subnet_name            = var.virtual_network_subnet_name
  virtual_network_resource_group_name    = var.virtual_network_resource_group_name
  private_virtual_network_with_public_ip = false

  # Output: a managed image (never overwritten).
  managed_image_name                = var.managed_image_name
  managed_image_resource_group_name = var.managed_image_resource_group_name

  azure_tags = merge(var.extra_tags, local.provenance)

  # WinRM over TLS (self-signed certificate from the build key vault).
  communicator   = "winrm"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = var.winrm_timeout
  winrm_username = "packer"
}
