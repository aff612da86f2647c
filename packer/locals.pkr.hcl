# Derived values. Nothing here is secret.

locals {
  # The only base this toolkit supports: the Windows 365 Cloud PC Marketplace offer.
  base_image_publisher = "MicrosoftWindowsDesktop"
  base_image_offer     = "windows-ent-cpc"
  base_image_sku       = var.use_m365_sku && !can(regex("-m365$", var.image_sku)) ? "${var.image_sku}-m365" : var.image_sku

  # Runner side: where the manifest and the facts document land.
  output_dir    = abspath(var.output_directory)
  manifest_path = "${local.output_dir}/${var.manifest_file_name}"
  facts_path    = "${local.output_dir}/${var.facts_file_name}"

  # Guest side: a work folder the sysprep step deletes before generalizing.
  guest_work_dir     = "C:\\w365-build"
  guest_helpers_path = "C:/w365-build/W365.Helpers.psm1"
  guest_facts_path   = "C:/w365-build/w365-facts.json"

  # Provenance: the same keys on the image (azure_tags) and in the manifest (custom_data).
  provenance = {
    "w365-base-publisher"   = local.base_image_publisher
    "w365-base-offer"       = local.base_image_offer
    "w365-base-sku"         = local.base_image_sku
    "w365-base-version"     = var.image_version
    "w365-template-version" = var.template_version
    "w365-git-commit"       = var.git_commit
    "w365-run-url"          = var.run_url
  }

  # Environment every guest script receives.
  script_env = [
    "W365_BUILD_DIR=${local.guest_work_dir}",
    "W365_TEMPLATE_VERSION=${var.template_version}",
    "W365_GIT_COMMIT=${var.git_commit}",
    "W365_RUN_URL=${var.run_url}",
  ]

  # Hook between facts and sysprep: runs on the runner, off unless a command is given. Packer starts
  # execute_command as an argument vector, so no shell parses the command's or the facts file's path.
  sysprep_check_skipped = "echo 'sysprep check skipped: sysprep_check_command is empty'"
  sysprep_check_execute = length(var.sysprep_check_command) == 0 ? tolist(["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]) : concat(var.sysprep_check_command, ["--facts", local.facts_path])
}
