<#
.SYNOPSIS
    One Windows Update pass through the built-in Windows Update Agent API
    (Microsoft.Update.Session COM). Switch: W365_WINDOWS_UPDATE; pass number: W365_WINDOWS_UPDATE_PASS.

.DESCRIPTION
    Searches for software updates that are not installed and not hidden, downloads and installs
    them, and fails when any update does not install (result code other than Succeeded). The
    Packer template restarts the VM after the first pass and runs a second one, which picks up
    updates that depend on the first. The API refuses remote sessions: Packer runs this script
    as an elevated local task.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
. (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.ps1')

$pass = Get-W365Setting -Name 'W365_WINDOWS_UPDATE_PASS'
if (-not (Test-W365Enabled -Name 'W365_WINDOWS_UPDATE')) {
    Write-W365Log "Windows Update pass $pass is off (windows_update = false): the base is patched monthly."
    exit 0
}

# OperationResultCode: 0 NotStarted, 1 InProgress, 2 Succeeded, 3 SucceededWithErrors, 4 Failed, 5 Aborted
$resultNames = @{ 0 = 'NotStarted'; 1 = 'InProgress'; 2 = 'Succeeded'; 3 = 'SucceededWithErrors'; 4 = 'Failed'; 5 = 'Aborted' }

$session = New-Object -ComObject 'Microsoft.Update.Session'
$session.ClientApplicationID = 'w365-image'
$searcher = $session.CreateUpdateSearcher()
Write-W365Log "Windows Update pass ${pass}: searching for software updates."
$search = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
if ($search.ResultCode -ne 2) {
    throw "Windows Update search finished with $($resultNames[[int]$search.ResultCode])."
}

$toInstall = New-Object -ComObject 'Microsoft.Update.UpdateColl'
foreach ($update in $search.Updates) {
    if ($update.InstallationBehavior.CanRequestUserInput) {
        Write-W365Log "Skipping (needs user input): $($update.Title)"
        continue
    }
    if (-not $update.EulaAccepted) {
        $update.AcceptEula()
    }
    Write-W365Log "Selected: $($update.Title)"
    $null = $toInstall.Add($update)
}

if ($toInstall.Count -eq 0) {
    Write-W365Log "Windows Update pass ${pass}: no applicable updates."
    exit 0
}

$downloader = $session.CreateUpdateDownloader()
$downloader.Updates = $toInstall
$download = $downloader.Download()
if ($download.ResultCode -ne 2) {
    throw "Windows Update download finished with $($resultNames[[int]$download.ResultCode])."
}

$installer = $session.CreateUpdateInstaller()
$installer.Updates = $toInstall
$install = $installer.Install()

$failures = New-Object System.Collections.Generic.List[string]
for ($i = 0; $i -lt $toInstall.Count; $i++) {
    $result = $install.GetUpdateResult($i)
    $title = $toInstall.Item($i).Title
    $name = $resultNames[[int]$result.ResultCode]
    Write-W365Log "$name (HRESULT 0x$('{0:X8}' -f $result.HResult)): $title"
    if ($result.ResultCode -ne 2) {
        $failures.Add("$title -> $name (0x$('{0:X8}' -f $result.HResult))")
    }
}
if ($install.ResultCode -ne 2 -or $failures.Count -gt 0) {
    throw "Windows Update installation failed ($($resultNames[[int]$install.ResultCode])): $($failures -join '; ')"
}
Write-W365Log "Windows Update pass ${pass}: $($toInstall.Count) update(s) installed; reboot required: $($install.RebootRequired)."
