<#
    The PowerShell suite: every *.Tests.ps1 here, with Pester (pinned, from .tools/ via scripts/powershell-tools.ts).
    Prints Pester's summary and one closing line "powershell: N passed, N failed"; exits non-zero on any failure.
#>
param([Parameter(Mandatory)] [string] $PesterManifest)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

Import-Module -Name $PesterManifest -Force
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$started = [Diagnostics.Stopwatch]::StartNew()
$result = Invoke-Pester -Configuration $configuration
$interpreter = "PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition)) running the guest scripts"
Write-Host "$interpreter; suite time $([Math]::Round($started.Elapsed.TotalSeconds)) s"
Write-Host "powershell: $($result.PassedCount) passed, $($result.FailedCount) failed"
if ($result.Result -ne 'Passed' -or $result.FailedCount -gt 0 -or $result.PassedCount -eq 0) {
    exit 1
}
exit 0
