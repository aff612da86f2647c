# Read top to bottom: base -> hygiene -> Teams -> your scripts -> facts -> check -> sysprep.
# Every guest script stops at the first error and a non-zero exit stops the build.

build {
  name    = "w365-image"
  sources = ["source.azure-arm.cloudpc"]

  # -------------------------------------------------------------------------------------
  # 0. Stage the shared helper module (verified downloads, checked native commands).
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    inline = ["New-Item -ItemType Directory -Path '${local.guest_work_dir}' -Force | Out-Null"]
  }

  provisioner "file" {
    source      = "${path.root}/scripts/W365.Helpers.psm1"
    destination = local.guest_helpers_path
  }

  # Automatic Updates and Store auto-download pause for the build; the sysprep step restores them.
  provisioner "powershell" {
    script           = "${path.root}/scripts/servicing-pause.ps1"
    environment_vars = local.script_env
  }

  # -------------------------------------------------------------------------------------
  # 1. Base hygiene, each step switched by a variable.
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    script           = "${path.root}/scripts/recovery-partition.ps1"
    environment_vars = concat(local.script_env, ["W365_REMOVE_RECOVERY_PARTITION=${var.remove_recovery_partition}"])
  }

  # The Windows Update API refuses remote (WinRM) sessions: run it as an elevated local task.
  provisioner "powershell" {
    script            = "${path.root}/scripts/windows-update.ps1"
    environment_vars  = concat(local.script_env, ["W365_WINDOWS_UPDATE=${var.windows_update}", "W365_WINDOWS_UPDATE_PASS=1"])
    elevated_user     = build.User
    elevated_password = build.Password
  }

  provisioner "windows-restart" {
    restart_timeout = "30m"
  }

  provisioner "powershell" {
    script            = "${path.root}/scripts/windows-update.ps1"
    environment_vars  = concat(local.script_env, ["W365_WINDOWS_UPDATE=${var.windows_update}", "W365_WINDOWS_UPDATE_PASS=2"])
    elevated_user     = build.User
    elevated_password = build.Password
  }

  provisioner "windows-restart" {
    restart_timeout = "30m"
  }

  provisioner "powershell" {
    script            = "${path.root}/scripts/windows-update.ps1"
    environment_vars  = concat(local.script_env, ["W365_WINDOWS_UPDATE=${var.windows_update}", "W365_WINDOWS_UPDATE_PASS=3"])
    elevated_user     = build.User
    elevated_password = build.Password
  }

  provisioner "windows-restart" {
    restart_timeout = "30m"
  }

  # Nothing may be left: no update still offered, no restart pending (else the build stops here).
  provisioner "powershell" {
    script            = "${path.root}/scripts/windows-update.ps1"
    environment_vars  = concat(local.script_env, ["W365_WINDOWS_UPDATE=${var.windows_update}", "W365_WINDOWS_UPDATE_PASS=final"])
    elevated_user     = build.User
    elevated_password = build.Password
  }

  provisioner "powershell" {
    script           = "${path.root}/scripts/remove-appx.ps1"
    environment_vars = concat(local.script_env, ["W365_REMOVE_APPX=${join(";", var.remove_appx_packages)}"])
  }

  # -------------------------------------------------------------------------------------
  # 2. Teams media optimizations (skips what an -m365 base already has, then verifies).
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    script           = "${path.root}/scripts/teams.ps1"
    environment_vars = concat(local.script_env, ["W365_TEAMS_DISABLE_AUTO_UPDATE=${var.teams_disable_auto_update}"])
  }

  # -------------------------------------------------------------------------------------
  # 3. Your own customizations (extra_scripts), in the order given.
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    scripts          = concat(["${path.root}/scripts/extras-begin.ps1"], var.extra_scripts)
    environment_vars = concat(local.script_env, ["W365_EXTRA_SCRIPT_COUNT=${length(var.extra_scripts)}"])
  }

  # Finish pending servicing before the facts are read and sysprep runs.
  provisioner "windows-restart" {
    restart_timeout = "30m"
  }

  # Component clean-up, update cache, answer files: the facts then see what the image will hold.
  provisioner "powershell" {
    script           = "${path.root}/scripts/cleanup.ps1"
    environment_vars = local.script_env
  }

  # -------------------------------------------------------------------------------------
  # 4. Facts: one JSON document for the sysprep-check, downloaded next to the manifest.
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    script           = "${path.root}/scripts/facts.ps1"
    environment_vars = concat(local.script_env, ["W365_FACTS_PATH=${local.guest_facts_path}"])
  }

  provisioner "file" {
    direction   = "download"
    source      = local.guest_facts_path
    destination = local.facts_path
  }

  # -------------------------------------------------------------------------------------
  # 5. Sysprep-check hook on the runner: a bad VM fails here, before capture.
  # -------------------------------------------------------------------------------------
  provisioner "shell-local" {
    inline          = [local.sysprep_check_skipped]
    execute_command = local.sysprep_check_execute
  }

  # -------------------------------------------------------------------------------------
  # 6. Sysprep: always last. The plugin then deallocates, generalizes and captures.
  # -------------------------------------------------------------------------------------
  provisioner "powershell" {
    script           = "${path.root}/scripts/sysprep.ps1"
    environment_vars = concat(local.script_env, ["W365_SYSPREP_TIMEOUT_MINUTES=${var.sysprep_timeout_minutes}"])
  }

  post-processor "manifest" {
    output      = local.manifest_path
    strip_path  = true
    custom_data = local.provenance
  }
}
