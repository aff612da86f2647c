<#
.SYNOPSIS
    Marks the start of your own customizations (the extra_scripts variable), which Packer runs
    right after this script, in order, each in its own PowerShell session.

.DESCRIPTION
    Extra scripts must stop on their first error themselves (Set-StrictMode -Version Latest,
    $ErrorActionPreference = 'Stop', check $LASTEXITCODE): a non-zero exit stops the build.
    They may import the shared helpers module for verified downloads:
        Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$count = [int](Get-W365Setting -Name 'W365_EXTRA_SCRIPT_COUNT')
Write-W365Log "Your customizations: $count extra script(s) follow."
exit 0
