# Example variables: copy to my.pkrvars.hcl, fill in, then
#   packer build -var-file=my.pkrvars.hcl .
# In GitHub Actions the w365-image action passes the authentication, provenance and output
# variables itself (-var oidc_request_url=... and so on): keep secrets out of this file.

subscription_id = "00000000-0000-0000-0000-000000000000"
tenant_id       = "00000000-0000-0000-0000-000000000000"
client_id       = "00000000-0000-0000-0000-000000000000"

# Base: Windows 11 25H2 Enterprise Cloud PC; true = the -m365 twin (Microsoft 365 Apps + Teams).
image_sku     = "win11-25h2-ent-cpc"
use_m365_sku  = false
image_version = "latest"

# Build VM in a temporary resource group in this region.
location = "westeurope"
vm_size  = "Standard_D4s_v5"

# Output managed image (the resource group must exist).
managed_image_name                = "w365-win11-25h2-20250101-1"
managed_image_resource_group_name = "rg-w365-images"

# Guest customization.
remove_recovery_partition = true
windows_update            = false
remove_appx_packages      = ["Microsoft.BingNews", "Microsoft.GamingApp"]
teams_disable_auto_update = false
extra_scripts             = []

# Output folder for packer-manifest.json and w365-facts.json.
output_directory = "output"
