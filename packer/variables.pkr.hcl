# Input variables. Every one of them is described in README.md; the GitHub Action passes
# the authentication, provenance and output ones on the command line.

# ---------------------------------------------------------------------------------------
# Authentication (the azure plugin reads no ARM_* environment variables)
# ---------------------------------------------------------------------------------------

variable "subscription_id" {
  type        = string
  description = "Azure subscription that holds the build VM and the managed image."
}

variable "tenant_id" {
  type        = string
  default     = ""
  description = "Microsoft Entra tenant ID. Empty: the plugin discovers it from the subscription."
}

variable "client_id" {
  type        = string
  default     = ""
  description = "Application (client) ID of the app registration or user-assigned identity (OIDC and client-secret authentication)."
}

variable "client_secret" {
  type        = string
  default     = ""
  sensitive   = true
  description = "Client secret. Leave empty with GitHub OIDC or Azure CLI authentication."
}

variable "oidc_request_url" {
  type        = string
  default     = ""
  description = "GitHub OIDC: the runner's ACTIONS_ID_TOKEN_REQUEST_URL. The plugin fetches a fresh ID token itself."
}

variable "oidc_request_token" {
  type        = string
  default     = ""
  sensitive   = true
  description = "GitHub OIDC: the runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN (needs 'permissions: id-token: write')."
}

variable "cloud_environment_name" {
  type        = string
  default     = "Public"
  description = "Azure cloud: Public or USGovernment (the action passes the one azure-environment names)."

  validation {
    condition     = contains(["Public", "USGovernment"], var.cloud_environment_name)
    error_message = "The cloud_environment_name must be Public or USGovernment (Windows 365 is not offered in other clouds)."
  }
}

variable "use_azure_cli_auth" {
  type        = bool
  default     = false
  description = "Authenticate with the signed-in Azure CLI (az login) instead of OIDC or a client secret."
}

# ---------------------------------------------------------------------------------------
# Base image (Windows 365 Cloud PC Marketplace base, single session)
# ---------------------------------------------------------------------------------------

variable "image_sku" {
  type        = string
  default     = "win11-25h2-ent-cpc"
  description = "SKU of MicrosoftWindowsDesktop/windows-ent-cpc, e.g. win11-25h2-ent-cpc or win11-25h2-ent-cpc-m365."

  validation {
    condition     = can(regex("^win(10|11)-[0-9]{2}h[12]-ent-cpc(-m365)?$", var.image_sku))
    error_message = "The image_sku must be a Windows 11/10 Enterprise single-session Cloud PC SKU of windows-ent-cpc (win11-25h2-ent-cpc, win11-25h2-ent-cpc-m365, ...): no multi-session (avd), LTSC or N editions."
  }
}

variable "use_m365_sku" {
  type        = bool
  default     = false
  description = "Build from the -m365 twin of image_sku (Microsoft 365 Apps and Teams preinstalled)."
}

variable "image_version" {
  type        = string
  default     = "latest"
  description = "Base image version: 'latest' or a pinned version such as 26100.4946.250810. Pin it for a reproducible build."

  validation {
    condition     = var.image_version == "latest" || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.image_version))
    error_message = "The image_version must be 'latest' or a Marketplace version of the form N.N.N."
  }
}

# ---------------------------------------------------------------------------------------
# Build VM
# ---------------------------------------------------------------------------------------

variable "location" {
  type        = string
  default     = ""
  description = "Azure region for a temporary build resource group that Packer creates and deletes. Leave empty when build_resource_group_name is set."
}

variable "build_resource_group_name" {
  type        = string
  default     = ""
  description = "Existing resource group to build in (instead of location). The identity needs Contributor on it."
}

variable "vm_size" {
  type        = string
  default     = "Standard_D4s_v5"
  description = "Size of the temporary build VM (Generation 2 capable). The plugin's default Standard_A1 is far too small."
}

variable "virtual_network_name" {
  type        = string
  default     = ""
  description = "Existing virtual network for the build VM. When set, the VM gets no public IP: the runner must reach it privately."
}

variable "virtual_network_subnet_name" {
  type        = string
  default     = ""
  description = "Subnet of virtual_network_name. Empty: the plugin picks the only subnet."
}

variable "virtual_network_resource_group_name" {
  type        = string
  default     = ""
  description = "Resource group of virtual_network_name. Empty: the plugin looks it up."
}

variable "winrm_timeout" {
  type        = string
  default     = "45m"
  description = "How long Packer waits for WinRM over TLS to come up on the build VM (first boot can take 10+ minutes)."
}

# ---------------------------------------------------------------------------------------
# Output: managed image (Windows 365 accepts managed images only)
# ---------------------------------------------------------------------------------------

variable "managed_image_name" {
  type        = string
  description = "Name of the managed image to create. An existing image of that name is never overwritten: use a unique name per build."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,78}[A-Za-z0-9_]$", var.managed_image_name))
    error_message = "The managed_image_name must be 2-80 characters: letters, digits, '.', '-' and '_', starting with a letter or digit and ending with a letter, digit or '_'."
  }
}

variable "managed_image_resource_group_name" {
  type        = string
  description = "Existing resource group that receives the managed image (the Windows 365 service principal needs Reader on its subscription)."
}

variable "extra_tags" {
  type        = map(string)
  default     = {}
  description = "Additional Azure tags for the build resources and the image (merged under the provenance tags)."
}

# ---------------------------------------------------------------------------------------
# Provenance (passed by the GitHub Action)
# ---------------------------------------------------------------------------------------

variable "template_version" {
  type        = string
  default     = "dev"
  description = "Version of this template (w365-image release) recorded on the image and in the manifest."
}

variable "git_commit" {
  type        = string
  default     = "unknown"
  description = "Commit SHA of the repository that ran the build."
}

variable "run_url" {
  type        = string
  default     = ""
  description = "URL of the workflow run that built the image."
}

# ---------------------------------------------------------------------------------------
# Guest customization
# ---------------------------------------------------------------------------------------

variable "remove_recovery_partition" {
  type        = bool
  default     = true
  description = "Remove the recovery partition if the base has one and extend the OS volume (Windows 365 requirement R6)."
}

variable "windows_update" {
  type        = bool
  default     = false
  description = "Install pending software updates through the Windows Update API (two passes with restarts). Off by default: the base is refreshed monthly."
}

variable "remove_appx_packages" {
  type        = list(string)
  default     = []
  description = "AppX package names (e.g. Microsoft.BingNews) to remove for all users and from the provisioned set."
}

variable "teams_disable_auto_update" {
  type        = bool
  default     = false
  description = "Set HKLM\\SOFTWARE\\Microsoft\\Teams disableAutoUpdate = 1 (DWORD)."
}

variable "extra_scripts" {
  type        = list(string)
  default     = []
  description = "Your own PowerShell scripts (paths on the runner), run after the Teams optimizations and before the facts. They must fail on error."
}

variable "sysprep_check_command" {
  type        = list(string)
  default     = []
  description = "Program and arguments run on the runner before sysprep, with '--facts <path>' appended, as an argument vector (no shell). A non-zero exit fails the build before capture. Empty: skipped."
}

variable "sysprep_timeout_minutes" {
  type        = number
  default     = 30
  description = "Minutes to wait for sysprep to reach IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE (and for the Azure guest agent before it)."

  validation {
    condition     = var.sysprep_timeout_minutes >= 5 && var.sysprep_timeout_minutes <= 180
    error_message = "The sysprep_timeout_minutes must be between 5 and 180."
  }
}

variable "output_directory" {
  type        = string
  default     = "output"
  description = "Folder on the runner (relative to the working directory) that receives the manifest and the facts document."
}

variable "manifest_file_name" {
  type        = string
  default     = "packer-manifest.json"
  description = "File name of the manifest post-processor output inside output_directory."
}

variable "facts_file_name" {
  type        = string
  default     = "w365-facts.json"
  description = "File name of the downloaded facts document inside output_directory."
}
