<#
.SYNOPSIS
    Pauses Automatic Updates and Store auto-download for the build (Microsoft's AVD image scripts do the
    same), so nothing installs or leaves a restart pending behind the build's back; the sysprep step
    restores both, as they were, right before Sysprep runs.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

Suspend-W365Servicing
exit 0
